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
	return defaultDirFor(os.Getenv, os.Geteuid(), lookupHome)
}

// defaultDirFor picks the registry directory for user euid: under
// $XDG_STATE_HOME, else under the home directory — but only one that is the
// user's own. Under sudo -E, HOME and XDG_STATE_HOME are still the invoking
// user's: root then uses its own home from the user database, never a
// directory of someone else's.
func defaultDirFor(getenv func(string) string, euid int, lookupHome func(uid int) (string, error)) (string, error) {
	if d := getenv("XDG_STATE_HOME"); filepath.IsAbs(d) && ownedBy(d, euid) {
		return filepath.Join(d, "claude-guard"), nil
	}
	home := getenv("HOME")
	if !filepath.IsAbs(home) || !ownedBy(home, euid) {
		h, err := lookupHome(euid)
		if err != nil || !filepath.IsAbs(h) {
			return "", fmt.Errorf("pidfile: no registry directory of uid %d's own: $HOME (%q) is not yours and the user database has none (%v); set CLAUDE_GUARD_HOME", euid, home, err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "claude-guard"), nil
}

// ownedBy reports whether path, or the nearest part of it that exists, is
// owned by uid.
func ownedBy(path string, uid int) bool {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		var st unix.Stat_t
		err := unix.Stat(p, &st)
		if err == nil {
			return int(st.Uid) == uid
		}
		if !errors.Is(err, unix.ENOENT) || p == filepath.Dir(p) {
			return false
		}
	}
}

// mayCreateIn says whether the registry may create directories inside
// parent: only if it is owned by the caller or by root.
func mayCreateIn(parent string) error {
	var st unix.Stat_t
	if err := unix.Stat(parent, &st); err != nil {
		return err
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not you (uid %d)", parent, st.Uid, os.Geteuid())
	}
	return nil
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

// checkPath refuses a registry reached through a part of its path that
// someone else could swap: a symlink or directory owned by another user
// than the caller and root, or a directory others may write to without the
// sticky bit. Both the path as given and the path its links lead to are
// checked, so a system link (/var on macOS) is fine, another user's is not.
func checkPath(dir string) error {
	if err := walkPath(dir); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	if real != dir {
		return walkPath(real)
	}
	return nil
}

func walkPath(dir string) error {
	dir = filepath.Clean(dir)
	var parts []string
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		parts = append(parts, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	me := uint32(os.Geteuid())
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("pidfile: %s: %w", p, err)
		}
		switch {
		case st.Uid != 0 && st.Uid != me && st.Mode&unix.S_IFMT == unix.S_IFLNK:
			return fmt.Errorf("pidfile: registry %s is reached through %s, a symlink of uid %d; refusing it (set CLAUDE_GUARD_HOME to a path of yours)", dir, p, st.Uid)
		case st.Uid != 0 && st.Uid != me:
			return fmt.Errorf("pidfile: registry %s lies inside %s, which belongs to uid %d, not you (uid %d); refusing it (set CLAUDE_GUARD_HOME to a path of yours)", dir, p, st.Uid, me)
		case st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&0o002 != 0 && st.Mode&unix.S_ISVTX == 0:
			return fmt.Errorf("pidfile: registry %s lies inside %s, which anyone may write to (mode %04o); refusing it", dir, p, st.Mode&0o7777)
		}
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

// readPrivate reads a registry file whole, with openPrivate's checks, and at
// most limit+1 bytes (more than limit: too large). It reads the file descriptor
// directly: one buffer sized by fstat, no *os.File, which matters when ps
// reads thousands of entries. The file is read into buf when it has room
// (ps reads every entry through one buffer per worker).
func readPrivate(path string, limit int, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &BadFileError{Path: path, Err: errors.New("is a symlink")}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("pidfile: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file of yours")}
	}
	// Room for more than the size: a file that grew since fstat is read on
	// to its end; one read that returns exactly the size is the whole file.
	b := buf[:0]
	if want := min(limit+1, int(max(st.Size, 0))+513); cap(b) < want {
		b = make([]byte, 0, want)
	}
	for len(b) <= limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow: the file grew since fstat
		}
		want := min(cap(b), limit+1) - len(b)
		n, err := unix.Read(fd, b[len(b):len(b)+want])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pidfile: read %s: %w", path, err)
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
		if n < want && int64(len(b)) == st.Size {
			break
		}
	}
	return b, nil
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

// linkEntry records a run's first entry without a file of its own: b is
// written into the run's new, still empty lock file, which is then linked
// under the entry's name, whole from its first appearance. A later write
// replaces the entry by a rename, as ever; nothing reads a lock file's
// content. One file made per launch instead of two: on an ext4 without a
// journal, making a file searches past every inode deleted in the last
// minute, and launches back to back delete two each.
func linkEntry(lock *os.File, b []byte, lockPath, entryPath string) error {
	if _, err := lock.WriteAt(b, 0); err != nil {
		return err
	}
	return os.Link(lockPath, entryPath)
}
