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

// replaceWait bounds how long replaceFile waits for readers, which hold an
// entry open only to read a few KiB. 100 ms was not always enough under
// Wine on a loaded machine, with a reader re-reading the entry every
// millisecond (TestEntryWriteWhileRead failed once in ten full runs).
const replaceWait = 500 * time.Millisecond

// replaceFile renames from over to. A rename over a file another process
// holds open fails with access denied where it is not POSIX-style (Wine
// always), even though readers share delete access: a ps reading the entry
// at that instant would cost the run a write, its session id say. So it is
// retried while readers let go.
func replaceFile(from, to string) error {
	deadline := time.Now().Add(replaceWait)
	for {
		err := os.Rename(from, to)
		if err == nil || !(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) ||
			time.Now().After(deadline) {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
}
