package pidfile

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
)

// WatchLock is held by the one process that watches claude's background
// daemon of one configuration directory, for as long as it watches.
type WatchLock struct{ f *os.File }

// LockWatch takes the watch lock of claude configuration directory cfgDir
// without waiting. ErrLive: another process watches it. The lock file's name
// starts with a dot, so List never takes it for a run.
func (r *Registry) LockWatch(cfgDir string) (*WatchLock, error) {
	h := fnv.New64a()
	h.Write([]byte(cfgDir))
	return r.lockWatch(filepath.Join(r.dir, fmt.Sprintf(".daemon-%016x.watch", h.Sum64())))
}

func (r *Registry) lockWatch(path string) (*WatchLock, error) {
	// A FIFO, directory or symlink under the lock's name locks nothing.
	if err := r.setAside(path, os.FileMode.IsRegular, "watch lock is not a regular file"); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, ErrLive
		}
		return nil, fmt.Errorf("pidfile: lock %s: %w", path, err)
	}
	return &WatchLock{f: f}, nil
}

// setAside moves the file at path, one of the registry's own names, into
// quarantine when it is there but not of the kind ok accepts; it is then
// made anew (left in place, every watcher start would fail on it). An
// error: it is there and could not be moved.
func (r *Registry) setAside(path string, ok func(os.FileMode) bool, what string) error {
	fi, err := os.Lstat(path)
	if err != nil || ok(fi.Mode()) {
		return nil
	}
	why := fmt.Errorf("%s (%v)", what, fi.Mode().Type())
	if qerr := r.quarantine(filepath.Base(path), why); !errors.As(qerr, new(*QuarantinedError)) {
		return &BadFileError{Path: path, Err: why}
	}
	return nil
}

// WatcherSocket is the name of the socket, in the registry, on which the
// registry's watcher takes the guards' registrations.
const WatcherSocket = ".watcher.sock"

const watcherLock = ".watcher.lock"

// LockWatcher takes the lock held by the registry's one watcher for as long
// as it serves, without waiting. ErrLive: another watcher serves it.
func (r *Registry) LockWatcher() (*WatchLock, error) {
	return r.lockWatch(filepath.Join(r.dir, watcherLock))
}

// Close lets go of the watch lock.
func (w *WatchLock) Close() { w.f.Close() }

// isWatchLock reports whether name is a watch lock's: .daemon-<16 hex>.watch.
func isWatchLock(name string) bool {
	hex, ok := strings.CutPrefix(name, ".daemon-")
	if !ok {
		return false
	}
	if hex, ok = strings.CutSuffix(hex, ".watch"); !ok || len(hex) != 16 {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
