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

// growPipe enlarges the pipe the guard copies claude's stdout from: fewer,
// larger reads and writes per byte copied. A failure only costs speed.
func growPipe(fd uintptr) {
	_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20)
}
