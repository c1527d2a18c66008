package pidfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

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

// checkDir refuses a registry that is a reparse point (symlink, junction).
// Ownership is left to the ACLs %LOCALAPPDATA% inherits.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("pidfile: %s: %w", dir, err)
	}
	reparse := fi.Mode()&(os.ModeSymlink|os.ModeIrregular) != 0
	if a, ok := fi.Sys().(*syscall.Win32FileAttributeData); ok && a.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		reparse = true
	}
	if reparse {
		return fmt.Errorf("pidfile: registry %s is a link; refusing it (point CLAUDE_GUARD_HOME at a real directory)", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pidfile: registry %s is not a directory", dir)
	}
	return nil
}

// checkPath and mayCreateIn leave ownership to the ACLs, as checkDir does.
func checkPath(dir string) error   { return nil }
func mayCreateIn(dir string) error { return nil }

// Registry files are opened sharing delete access. Go's own opens do not
// share it, and on Windows a file open without it can be neither renamed
// nor removed: a reader holding an entry would make its guard's next
// atomic write fail, and a watchdog waiting on a lock file (it holds the file
// open for the guard's whole life) would make the guard's Remove fail.
const shareAll = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE | windows.FILE_SHARE_DELETE

// openShared opens path without following a reparse point, with a handle
// that is not inherited and not overlapped (so LockFileEx blocks).
func openShared(path string, access, disposition uint32) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, access, shareAll, nil, disposition,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// openPrivate opens a registry file for reading: never through a link, and
// only a regular file. The check is made on the open handle, so the file
// cannot be swapped in between.
func openPrivate(path string) (*os.File, error) {
	f, err := openShared(path, windows.GENERIC_READ, windows.OPEN_EXISTING)
	if err != nil {
		return nil, err
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfile: stat %s: %w", path, err)
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		f.Close()
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file")}
	}
	return f, nil
}

// createTemp is os.CreateTemp with the file opened sharing delete access, so
// that Create can rename it into place while it holds it open and locked
// (os.Rename of a file Go opened itself fails with a sharing violation).
// Registry.Create must create its lock file with it; the unix version is
// os.CreateTemp.
func createTemp(dir, pattern string) (*os.File, error) {
	i := strings.LastIndexByte(pattern, '*')
	if i < 0 {
		return nil, fmt.Errorf("pidfile: temp pattern %q has no *", pattern)
	}
	for range 1000 {
		name := filepath.Join(dir, pattern[:i]+strconv.FormatUint(uint64(rand.Uint32()), 10)+pattern[i+1:])
		f, err := openShared(name, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.CREATE_NEW)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) {
			continue
		}
		return f, err
	}
	return nil, &os.PathError{Op: "createtemp", Path: filepath.Join(dir, pattern), Err: os.ErrExist}
}

// lockFile takes an exclusive LockFileEx lock on the first byte, waiting for
// it when wait is set. Windows drops it when the holder's handle closes,
// however the holder dies. The lock files stay empty, so the lock (which
// Windows enforces on reads and writes) stands in no one's way.
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
