//go:build linux || darwin

package killtree

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// pinned is the process Signal checks and signals: its pid, and on Linux a
// pidfd (-1 where there is none) that pins the process pin found.
type pinned struct{ pid, fd int }

func (t pinned) proc() (Proc, error) {
	p, err := lookup(t.pid)
	if err != nil {
		return Proc{}, ErrGone
	}
	return p, nil
}

func (t pinned) send(sig syscall.Signal) error {
	err := t.kill(sig)
	if errors.Is(err, unix.ESRCH) {
		return ErrGone
	}
	return err
}

func (t pinned) close() {
	if t.fd >= 0 {
		unix.Close(t.fd)
	}
}
