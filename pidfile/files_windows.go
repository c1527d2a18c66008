package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
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

// replaceRetries bounds how long replaceFile waits for readers, which hold
// an entry open only to read a few KiB: about 100 ms in all.
const replaceRetries = 50

// replaceFile renames from over to. A rename over a file another process
// holds open fails with access denied where it is not POSIX-style (Wine
// always), even though readers share delete access: a ps reading the entry
// at that instant would cost the run a write, its session id say. So it is
// retried while readers let go.
func replaceFile(from, to string) error {
	var err error
	for i := 0; i < replaceRetries; i++ {
		if err = os.Rename(from, to); err == nil ||
			!(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return err
}
