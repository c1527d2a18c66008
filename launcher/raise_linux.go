package launcher

import (
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Go runtime keeps its own handler for most signals even after
// signal.Reset (it ignores SIGUSR1 and SIGTSTP, dumps goroutines on SIGQUIT),
// so the default action is set with a raw rt_sigaction, as the runtime itself
// does before dying from a signal. A zeroed struct sigaction is SIG_DFL, no
// flags, empty mask on every architecture; 64 bytes hold any of them.
type sigaction [64]byte

func setAction(sig syscall.Signal, act, old *sigaction) {
	var oldp uintptr
	if old != nil {
		oldp = uintptr(unsafe.Pointer(old))
	}
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), oldp, 8, 0, 0)
}

// raiseDefault delivers sig to the calling thread with the default action.
// The caller has locked its OS thread.
func raiseDefault(sig syscall.Signal, old *sigaction) {
	setAction(sig, &sigaction{}, old)
	var set unix.Sigset_t
	set.Val[(int(sig)-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	_ = unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}

// Raise ends the guard by sig with the default action, so its parent sees the
// same death as the child's. It returns only if sig did not end the process.
func Raise(sig syscall.Signal) {
	signal.Reset(sig)
	runtime.LockOSThread()
	raiseDefault(sig, nil)
}

// stopSelf stops the guard with the stop signal sig, as the shell expects of
// a job, and returns once it is continued, with the guard's handler back.
func stopSelf(sig syscall.Signal) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old sigaction
	raiseDefault(sig, &old)
	setAction(sig, &old, nil)
}
