//go:build !unix

package pidfile

import (
	"errors"
	"os"
)

// lockDir is not available here: sweeps are made run by run.
func lockDir(dir string) (*os.File, error) { return nil, errors.ErrUnsupported }
