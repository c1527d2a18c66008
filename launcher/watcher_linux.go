package launcher

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

// watch has the run watched should the guard die: by the registry's
// watcher, over a connection the guard keeps for its whole life (started
// here if none listens), or failing that by a watchdog of its own.
func (g *guard) watch() {
	reg, runID := g.rec.registry()
	if reg == nil {
		return // nothing recorded, nothing to watch
	}
	conn, err := g.register(reg, runID)
	if err != nil {
		g.startWatchdog()
		return
	}
	go g.stayRegistered(reg, runID, conn)
}

// stayRegistered waits on the connection; should the watcher go away
// while the run lives, the run registers with a new one. A watcher that
// keeps dropping the run within a second (five times) is given up for a
// watchdog of the run's own.
func (g *guard) stayRegistered(reg *pidfile.Registry, runID string, conn *os.File) {
	for short := 0; ; {
		since := time.Now()
		var b [64]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				break
			}
		}
		conn.Close()
		if g.finishing.Load() {
			return
		}
		if time.Since(since) < time.Second {
			short++
		}
		var err error
		if short < 5 {
			conn, err = g.register(reg, runID)
		} else {
			err = errors.New("watcher: keeps dropping the run")
		}
		if err != nil {
			if !g.finishing.Load() {
				g.startWatchdog()
			}
			return
		}
	}
}

// register connects to the watcher and registers the run, starting a
// watcher when none listens. A watcher started here is the guard's child
// until the guard exits: g.watchdog names it so the run's record and
// cleanup leave it alone, as they leave a watchdog.
func (g *guard) register(reg *pidfile.Registry, runID string) (*os.File, error) {
	var err error
	for try := 0; try < 3; try++ {
		var conn *os.File
		var p pidfile.Peer
		if conn, p, err = reg.DialWatcher(); err == nil {
			if err = announce(conn, runID, g.rec.snapshot().GuardStart); err == nil {
				if try == 0 {
					// Not started by this call (by this guard earlier, or
					// another): the one to leave alone from now on.
					w := identity(p.PID)
					g.watchMu.Lock()
					g.watchdog = w
					g.watchMu.Unlock()
				}
				return conn, nil
			}
			conn.Close()
		}
		if err = g.startWatcher(reg); err != nil {
			return nil, err
		}
	}
	return nil, err
}

// announce registers run id on conn: "run ID GUARDSTART\n" (the guard's
// start ticks, so the watcher need not look it up). Nothing is answered:
// should the watcher not take the run after all (it was leaving), it closes
// the connection, and the guard registers again on meeting its end.
func announce(conn *os.File, runID string, start uint64) error {
	_, err := fmt.Fprintf(conn, "run %s %d\n", runID, start)
	return err
}

// startWatcher starts `claude-guard __watcher DIR` in a session of its own,
// without run cookies, and returns once it listens (or found another
// watcher serving, or failed): it closes the pipe it gets as descriptor 3.
func (g *guard) startWatcher(reg *pidfile.Registry) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// The lock is held from before the fork until the watcher's identity
	// is known: exclude waits for it, so the tree recorder never takes the
	// new watcher for a process of the run.
	g.watchMu.Lock()
	pid, err := startHelper([]string{WatcherCommand, reg.Path()}, w)
	if err == nil {
		g.watchdog = identity(pid)
	}
	g.watchMu.Unlock()
	w.Close()
	if err != nil {
		return err
	}
	_ = r.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	_, err = r.Read(b[:])
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("watcher: not listening after 2s")
	}
	return nil // EOF: listening, or another serves
}
