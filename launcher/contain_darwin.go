package launcher

import "syscall"

// sysProcAttr puts the child in its own process group (the terminal's
// foreground when tty). macOS has no parent-death signal: the watchdog and the
// cookie cover a guard's death there.
func sysProcAttr(tty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0}
}

// becomeSubreaper does nothing: macOS has no subreapers. Orphans go to launchd
// and are found again by their cookie.
func becomeSubreaper() error { return nil }
