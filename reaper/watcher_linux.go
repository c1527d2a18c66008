package reaper

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// coalesce is how long the watcher lets events gather after handling some:
// back to back, a launch's connection, registration and end each woke it,
// and every wake set the Go runtime's monitor thread polling every 20 µs
// for a millisecond (more than half of the watcher's CPU). A guard's death
// is noticed this much later at most.
const coalesce = 50 * time.Millisecond

// guardConn is one guard's connection: its registration line as it comes,
// then the run it registered.
type guardConn struct {
	peer  pidfile.Peer
	line  []byte
	known pidfile.Entry // RunID set once registered
}

// serve is the watcher's loop, on one goroutine: it polls the listening
// socket and every guard's connection with epoll, takes new guards and
// their registrations, and starts the end of a run whose connection ended.
// Once a tick (StartupDelay, or the idle time if shorter) it reaps stale
// runs if runs came or went since the last reap, and it exits once no run
// has registered or ended for idle, on SIGTERM, or once the registry is gone.
func (w *watcher) serve(idle time.Duration) error {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	conns := map[int]*guardConn{}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err == nil {
		err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, w.ln.Fd(), &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(w.ln.Fd())})
	}
	if err != nil {
		return errors.Join(err, w.close(conns))
	}
	defer unix.Close(ep)
	every := min(StartupDelay, idle)
	next := time.Now().Add(every)
	events := make([]unix.EpollEvent, 64)
	for {
		select {
		case <-term:
			// The runs whose guards ended while events gathered are
			// swept too: a run left unswept keeps its lock file until
			// the next reap.
			for {
				n, err := unix.EpollWait(ep, events, 0)
				if n <= 0 && !errors.Is(err, unix.EINTR) {
					break
				}
				w.handle(ep, events[:max(n, 0)], conns)
			}
			return w.close(conns)
		default:
		}
		n, err := unix.EpollWait(ep, events, int(max(time.Until(next), 0)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return errors.Join(err, w.close(conns))
		}
		w.handle(ep, events[:max(n, 0)], conns)
		if now := time.Now(); !now.Before(next) {
			next = now.Add(every)
			if _, err := os.Stat(w.reg.Path()); err != nil {
				return w.close(conns) // the registry is gone: nothing to serve
			}
			if w.reapDue.Swap(false) {
				StartupReap(w.reg, min(w.grace, WatchdogGrace))
			}
			if w.runs.Load() == 0 && now.Sub(time.Unix(0, w.lastBusy.Load())) >= idle {
				return w.close(conns)
			}
		}
		if n > 0 {
			time.Sleep(coalesce)
		}
	}
}

// handle takes new guards, reads registrations and starts the end of the
// runs whose connection ended.
func (w *watcher) handle(ep int, events []unix.EpollEvent, conns map[int]*guardConn) {
	for _, ev := range events {
		if fd := int(ev.Fd); fd == w.ln.Fd() {
			w.acceptAll(ep, conns)
		} else if c := conns[fd]; c != nil && w.read(fd, c) {
			_ = unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil)
			unix.Close(fd)
			delete(conns, fd)
			w.ended(c)
		}
	}
}

// acceptAll takes every guard waiting.
func (w *watcher) acceptAll(ep int, conns map[int]*guardConn) {
	for {
		fd, p, err := w.ln.Accept()
		if err != nil {
			return // EAGAIN: none left
		}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}); err != nil {
			unix.Close(fd) // the guard meets the end, and registers again
			continue
		}
		conns[fd] = &guardConn{peer: p}
	}
}

// read reads what a guard's connection has: its registration, "run ID
// GUARDSTART\n", then nothing until the guard's end. done: the connection
// ended (the guard exited, however), or is no registration.
func (w *watcher) read(fd int, c *guardConn) (done bool) {
	var b [256]byte
	for {
		n, err := unix.Read(fd, b[:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return false
		case err != nil || n == 0:
			return true
		}
		if c.known.RunID != "" {
			continue // registered: nothing more is expected
		}
		c.line = append(c.line, b[:n]...)
		line, _, ok := bytes.Cut(c.line, []byte("\n"))
		if !ok {
			if len(c.line) > 256 {
				return true // no registration
			}
			continue
		}
		if !w.register(c, string(line)) {
			return true
		}
	}
}

// register takes a guard's registration line.
func (w *watcher) register(c *guardConn, line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "run" || !pidfile.ValidRunID(f[1]) {
		return false
	}
	known := pidfile.Entry{RunID: f[1], GuardPID: c.peer.PID}
	known.BootID, _ = killtree.BootID()
	// The guard's start ticks, as it says them (they only narrow a wait and
	// a scan; a wrong value costs a full scan, never a wrong kill), or read.
	if len(f) > 2 {
		known.GuardStart, _ = strconv.ParseUint(f[2], 10, 64)
	}
	if known.GuardStart == 0 {
		if g, err := killtree.Lookup(c.peer.PID); err == nil {
			known.GuardStart = g.Start
		}
	}
	c.known = known
	w.runs.Add(1)
	w.busy()
	w.reapDue.Store(true)
	return true
}

// ended starts the end of a connection's run, off the loop: runEnded may
// wait for the guard's exit.
func (w *watcher) ended(c *guardConn) {
	if c.known.RunID == "" {
		w.reapDue.Store(true) // a guard killed before it registered, perhaps
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.runEnded(c.known.RunID, c.known)
		w.busy()
		w.runs.Add(-1)
	}()
}

// close stops taking guards and waits for the runs' ends under way and the
// sweep they asked for. The connections of guards still running are
// closed: each registers again, with a new watcher.
func (w *watcher) close(conns map[int]*guardConn) error {
	for fd := range conns {
		unix.Close(fd)
	}
	err := w.ln.Close()
	w.wg.Wait()
	close(w.sweep) // no run's end is left to ask for one
	<-w.swept
	return err
}
