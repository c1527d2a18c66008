//go:build unix

package launcher

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// isForeground reports whether the guard's process group owns the terminal
// on stdin. A guard started in the background must not steal it.
func isForeground() bool {
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// takeTerminal makes the guard's group the terminal's foreground again.
func takeTerminal() { setForeground(unix.Getpgrp()) }

// giveTerminal makes pgid the terminal's foreground group.
func giveTerminal(pgid int) { setForeground(pgid) }

// setForeground calls tcsetpgrp with SIGTTOU ignored: from a background group
// the call would otherwise stop the guard (or, with the signal caught, be
// restarted for ever).
func setForeground(pgid int) {
	signal.Ignore(unix.SIGTTOU)
	defer signal.Reset(unix.SIGTTOU)
	_ = unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, pgid)
}

// startDetached starts the watchdog in its own session, stdio on /dev/null.
func startDetached(path string, argv []string) (int, error) {
	return startInSession(path, argv, os.Environ())
}
