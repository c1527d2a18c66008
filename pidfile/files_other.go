//go:build !windows

package pidfile

import "os"

// removeLock removes a run's lock file. Unlinking takes the name away at
// once, even while the watchdog holds the file open.
func removeLock(path string) error { return os.Remove(path) }

// replaceFile renames from over to, atomically, whoever holds to open.
func replaceFile(from, to string) error { return os.Rename(from, to) }
