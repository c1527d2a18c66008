package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

var errWouldBlock = windows.ERROR_LOCK_VIOLATION

func defaultDir() (string, error) {
	d := os.Getenv("LOCALAPPDATA")
	if d == "" {
		return "", errors.New("pidfile: LOCALAPPDATA is not set (set CLAUDE_GUARD_HOME)")
	}
	return filepath.Join(d, "claude-guard"), nil
}

// checkDir refuses a registry that is a reparse point (symlink or junction).
// Ownership is left to the ACLs %LOCALAPPDATA% inherits.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("pidfile: %s: %w", dir, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 || fi.Mode()&os.ModeIrregular != 0 {
		return fmt.Errorf("pidfile: registry %s is a link; refusing it (point CLAUDE_GUARD_HOME at a real directory)", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pidfile: registry %s is not a directory", dir)
	}
	return nil
}

func openPrivate(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file")}
	}
	return os.Open(path)
}

// lockFile takes an exclusive LockFileEx lock on the first byte. Windows
// drops it when the holder's handle closes, however the holder dies.
func lockFile(f *os.File, wait bool) error {
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !wait {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	ol := new(windows.Overlapped)
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, ol)
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}
