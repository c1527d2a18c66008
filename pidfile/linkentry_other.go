//go:build !unix

package pidfile

import (
	"errors"
	"os"
)

// linkEntry is the Unix way of writing a first entry (pidfile_unix.go). Here
// a lock is a byte-range lock that a reader of the entry would meet, or
// there is none: the entry gets a file of its own.
func linkEntry(*os.File, []byte, string, string) error { return errors.ErrUnsupported }
