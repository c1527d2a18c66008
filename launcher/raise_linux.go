package launcher

import (
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raise ends the guard by sig with the default action, so its parent sees the
// same death as the child's. It returns only if sig did not end the process.
//
// The Go runtime keeps its own handler for most signals even after
// signal.Reset (it ignores SIGUSR1, dumps goroutines on SIGQUIT), so the
// action is set to SIG_DFL with a raw rt_sigaction, as the runtime itself
// does before dying from a signal. A zeroed struct sigaction is SIG_DFL, no
// flags, empty mask on every architecture.
func Raise(sig syscall.Signal) {
	signal.Reset(sig)
	runtime.LockOSThread()
	var act [64]byte
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	var set unix.Sigset_t
	set.Val[(int(sig)-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	_ = unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}
