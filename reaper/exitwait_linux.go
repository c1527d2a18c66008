package reaper

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-guard/claude-guard/killtree"
)

// exitWaiter waits for a process that is not our child to exit: on a pidfd,
// which becomes readable when it does (Linux ≥ 5.3), so the wait costs no CPU.
type exitWaiter struct {
	id killtree.ID
	fd int
}

func newExitWaiter(id killtree.ID) *exitWaiter {
	w := &exitWaiter{id: id, fd: -1}
	if fd, err := unix.PidfdOpen(id.PID, 0); err == nil {
		w.fd = fd
		if !killtree.Alive(id) { // the pid was reused before the open
			unix.Close(fd)
			w.fd = -1
		}
	}
	return w
}

// wait reports whether the process has exited, waiting up to d.
func (w *exitWaiter) wait(d time.Duration) bool {
	if w.fd < 0 {
		return waitPolling(w.id, d)
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(d); ; {
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0)/time.Millisecond))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return waitPolling(w.id, d)
		}
		return n > 0 || !killtree.Alive(w.id)
	}
}

func (w *exitWaiter) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
}
