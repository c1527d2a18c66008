//go:build !unix && !windows

package pidfile

import (
	"errors"
	"os"
)

var errWouldBlock = errors.ErrUnsupported

func defaultDir() (string, error)               { return "", errors.ErrUnsupported }
func checkDir(dir string) error                 { return errors.ErrUnsupported }
func checkPath(dir string) error                { return errors.ErrUnsupported }
func mayCreateIn(dir string) error              { return errors.ErrUnsupported }
func openPrivate(path string) (*os.File, error) { return nil, errors.ErrUnsupported }
func lockFile(f *os.File, wait bool) error      { return errors.ErrUnsupported }
func sameFile(f *os.File, path string) bool     { return false }

func createTemp(dir, pattern string) (*os.File, error) { return os.CreateTemp(dir, pattern) }
