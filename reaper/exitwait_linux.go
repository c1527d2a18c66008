package reaper

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-guard/claude-guard/killtree"
)

// exitWaiter waits for a process that is not our child to exit: on a pidfd,
// which becomes readable when it does (Linux ≥ 5.3), so the wait costs no CPU.
// The pidfd is non-blocking and waited on through the Go runtime's poller:
// a wait blocked in poll(2) would hold one of the few Ps of a watcher that
// serves many runs until the runtime's monitor took it back (up to 10 ms).
type exitWaiter struct {
	id killtree.ID
	f  *os.File
}

func newExitWaiter(id killtree.ID) *exitWaiter {
	w := &exitWaiter{id: id}
	if fd, err := unix.PidfdOpen(id.PID, 0); err == nil {
		if !killtree.Alive(id) || unix.SetNonblock(fd, true) != nil { // the pid was reused before the open
			unix.Close(fd)
		} else {
			w.f = os.NewFile(uintptr(fd), "pidfd")
		}
	}
	return w
}

// wait reports whether the process has exited, waiting up to d.
func (w *exitWaiter) wait(d time.Duration) bool {
	if w.f == nil {
		return waitPolling(w.id, d)
	}
	rc, err := w.f.SyscallConn()
	if err != nil || w.f.SetReadDeadline(time.Now().Add(d)) != nil {
		return waitPolling(w.id, d)
	}
	exited := false
	err = rc.Read(func(fd uintptr) bool {
		n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		exited = n > 0
		return exited
	})
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return waitPolling(w.id, d)
	}
	return exited || !killtree.Alive(w.id)
}

func (w *exitWaiter) close() {
	if w.f != nil {
		w.f.Close()
	}
}
