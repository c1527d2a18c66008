package pidfile

import (
	"os"
	"path/filepath"
)

// removeLock removes a run's lock file, which its watchdog may hold open
// (waiting for the lock): the name must be gone at once, so that the
// watchdog, taking the lock next, finds the run ended cleanly (ErrGone) and
// not a run with only its id left, to sweep. Windows 10 deletes POSIX-style
// and older Windows hides a file marked for deletion, but Wine leaves it
// under its name until its last handle closes. A rename moves the name away
// everywhere; the new one starts with a dot, which List skips.
func removeLock(path string) error {
	gone := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".gone")
	if err := os.Rename(path, gone); err != nil {
		return os.Remove(path)
	}
	return os.Remove(gone)
}
