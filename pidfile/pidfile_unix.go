//go:build unix

package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

var errWouldBlock = unix.EWOULDBLOCK

func defaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "claude-guard"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("pidfile: no registry directory: %w (set CLAUDE_GUARD_HOME)", err)
	}
	return filepath.Join(home, ".local", "state", "claude-guard"), nil
}

func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("pidfile: %s: %w", dir, err)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("pidfile: registry %s is a symlink; refusing it (remove the link, or point CLAUDE_GUARD_HOME at a real directory)", dir)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("pidfile: registry %s is not a directory", dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("pidfile: registry %s is owned by uid %d, not you (uid %d); refusing it (chown it or set CLAUDE_GUARD_HOME)", dir, st.Uid, os.Geteuid())
	case st.Mode&0o022 != 0:
		return fmt.Errorf("pidfile: registry %s is writable by group or others (mode %04o); refusing it (fix: chmod 700 %s)", dir, st.Mode&0o7777, dir)
	}
	return nil
}

// openPrivate opens a registry file for reading: never through a symlink,
// never blocking on a FIFO, and only a regular file owned by the caller.
func openPrivate(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &BadFileError{Path: path, Err: errors.New("is a symlink")}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pidfile: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
		unix.Close(fd)
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file of yours")}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// lockFile takes an exclusive flock, waiting for it when wait is set. The
// kernel drops it when the holder dies, however it dies.
func lockFile(f *os.File, wait bool) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func createTemp(dir, pattern string) (*os.File, error) { return os.CreateTemp(dir, pattern) }
