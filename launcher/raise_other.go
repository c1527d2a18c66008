//go:build unix && !linux

package launcher

import (
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Raise ends the guard by sig, so its parent sees the same death as the
// child's. It returns if sig did not end the process: the Go runtime keeps a
// handler of its own for some signals (SIGUSR1, SIGQUIT), and the caller then
// exits with 128+sig.
func Raise(sig syscall.Signal) {
	signal.Reset(sig)
	_ = unix.Kill(unix.Getpid(), sig)
}

// stopSelf stops the guard, as the shell expects of a job, and returns once
// it is continued. SIGSTOP, because the runtime's handler for sig cannot be
// put aside here.
func stopSelf(syscall.Signal) {
	_ = unix.Kill(unix.Getpid(), unix.SIGSTOP)
}
