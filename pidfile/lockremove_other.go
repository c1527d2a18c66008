//go:build !windows

package pidfile

import "os"

// removeLock removes a run's lock file. Unlinking takes the name away at
// once, even while the watchdog holds the file open.
func removeLock(path string) error { return os.Remove(path) }
