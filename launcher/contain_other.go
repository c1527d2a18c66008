//go:build unix && !linux

package launcher

import "syscall"

// sysProcAttr puts the child in its own process group (the terminal's
// foreground when tty). These systems (macOS among them) have no
// parent-death signal: the watchdog, the cookie and the recorded tree cover
// a guard's death there.
func sysProcAttr(tty bool, _ int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0}
}

// dropCgroup does nothing: there are no cgroups here.
func dropCgroup(*syscall.SysProcAttr) bool { return false }

// becomeSubreaper does nothing: these systems have no subreapers. Orphans go
// to init (launchd) and are found again by their cookie.
func becomeSubreaper() (bool, error) { return false, nil }

// growPipe does nothing: pipe sizes are fixed here.
func growPipe(uintptr) {}
