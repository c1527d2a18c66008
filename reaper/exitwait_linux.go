package reaper

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-guard/claude-guard/killtree"
)

// waitExit waits until process id has exited, at most d: on a pidfd, so the
// wait costs no CPU, where the kernel has them.
func waitExit(id killtree.ID, d time.Duration) {
	fd, err := unix.PidfdOpen(id.PID, 0)
	if err != nil {
		pollExit(id, d)
		return
	}
	defer unix.Close(fd)
	if !killtree.Alive(id) {
		return // gone already, or the pid is another process's now
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(d); ; {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
