package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group (the terminal's
// foreground when tty), and has the kernel SIGKILL it if the guard dies.
// With a cgroup fd the child starts in that cgroup (clone3
// CLONE_INTO_CGROUP): a member before its first instruction, so nothing it
// forks is ever outside.
func sysProcAttr(tty bool, cgroupFD int) *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if cgroupFD >= 0 {
		sys.UseCgroupFD, sys.CgroupFD = true, cgroupFD
	}
	return sys
}

// dropCgroup takes the cgroup out of sys, for a second try where clone3
// refused it (a kernel before 5.7, a seccomp filter). Writing the child's
// pid to cgroup.procs after the start instead would leave a window in
// which it forks outside, so the run is then contained without a cgroup.
func dropCgroup(sys *syscall.SysProcAttr) bool {
	if !sys.UseCgroupFD {
		return false
	}
	sys.UseCgroupFD, sys.CgroupFD = false, 0
	return true
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
