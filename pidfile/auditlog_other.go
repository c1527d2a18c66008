//go:build !unix && !windows

package pidfile

import (
	"errors"
	"os"
)

// openAppend opens the audit log for appending, creating it: never a link,
// only a regular file (checked before and after the open, so a swap between
// the two is caught).
func openAppend(path string) (*os.File, error) {
	before, err := os.Lstat(path)
	if err == nil && !before.Mode().IsRegular() {
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file")}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil || !after.Mode().IsRegular() || (before != nil && !os.SameFile(before, after)) {
		f.Close()
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file")}
	}
	return f, nil
}
