package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group (the terminal's
// foreground when tty), and has the kernel SIGKILL it if the guard dies.
func sysProcAttr(tty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0, Pdeathsig: syscall.SIGKILL}
}

// becomeSubreaper makes orphaned descendants reparent to the guard instead of
// init, so they stay findable and reapable while the guard lives.
func becomeSubreaper() (bool, error) {
	err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	return err == nil, err
}
