package reaper

import (
	"bufio"
	"errors"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// WatcherIdle is how long the watcher serves no run before it exits.
const WatcherIdle = 10 * time.Second

// Serve is the registry's watcher: one process per registry serving every
// guard, in place of a watchdog process per run (Linux). A guard connects to
// the registry's socket, sends "run RUNID GUARDSTART" and keeps the
// connection for its whole life; the kernel closes it when the guard exits,
// SIGKILL included, and that end is the watcher's cue to do what a
// watchdog did: take the run's lock once the guard lets go of it, then reap
// what a dead guard left or sweep for a clean run's cookie (shared with the
// runs that end about then). Once a StartupDelay, while runs come and go,
// it reaps stale runs of earlier crashes (a guard killed before it could
// register included). It exits after idle without a run, or on SIGTERM; a
// guard whose watcher went away registers with a new one.
//
// ready, when not nil, is closed once the watcher listens, or has found
// another watcher serving (then it returns at once), or has failed.
func Serve(reg *pidfile.Registry, grace, idle time.Duration, ready *os.File) error {
	// One P: no guard waits on the watcher (a registration gets no
	// answer), and with a second P the Go scheduler spent more handing
	// work between threads than the watcher's own work (its CPU per launch
	// back to back: 300-325 µs with one, 425 µs with two).
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(25) // see Watchdog
	closeReady := func() {
		if ready != nil {
			ready.Close()
			ready = nil
		}
	}
	defer closeReady()
	lock, err := reg.LockWatcher()
	if errors.Is(err, pidfile.ErrLive) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	ln, err := reg.ListenWatcher()
	if err != nil {
		return err
	}
	closeReady()
	w := &watcher{reg: reg, grace: grace, ln: ln, conns: map[*os.File]bool{}, toSweep: map[string]pidfile.Entry{},
		sweep: make(chan struct{}, 1), swept: make(chan struct{})}
	w.busy()
	w.reapDue.Store(true) // a new watcher's first reap: whatever crashed before it
	go w.sweeper()
	return w.serve(idle)
}

type watcher struct {
	reg   *pidfile.Registry
	grace time.Duration
	ln    *pidfile.WatcherListener
	wg    sync.WaitGroup // watches under way
	sweep chan struct{}  // a clean run's cookie is to be swept
	swept chan struct{}  // closed when the sweeper is done

	// Counted, not sent to serve: a launch wakes no goroutine of the
	// watcher's but the one serving its connection.
	runs     atomic.Int64 // registered runs not ended yet
	lastBusy atomic.Int64 // when a run last registered or ended (unix ns)
	reapDue  atomic.Bool  // a registration, or a connection ended unregistered, since the last reap

	mu      sync.Mutex
	conns   map[*os.File]bool // registered guards' connections
	closing bool
	toSweep map[string]pidfile.Entry // runs ended cleanly, with their guards, for the sweeper
}

func (w *watcher) busy() { w.lastBusy.Store(time.Now().UnixNano()) }

// serve runs the watcher's clock: once a tick (StartupDelay, or the idle
// time if shorter) it reaps stale runs if runs came or went since the last
// reap, and it exits once no run has been registered for idle.
func (w *watcher) serve(idle time.Duration) error {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go w.accept()
	tick := time.NewTicker(min(StartupDelay, idle))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := os.Stat(w.reg.Path()); err != nil {
				return w.close() // the registry is gone: nothing to serve
			}
			if w.reapDue.Swap(false) {
				StartupReap(w.reg, min(w.grace, WatchdogGrace))
			}
			if w.runs.Load() == 0 && time.Since(time.Unix(0, w.lastBusy.Load())) >= idle {
				return w.close()
			}
		case <-term:
			return w.close()
		}
	}
}

// close stops taking guards and waits for the watches under way and the
// sweep they asked for. The connections of guards still running are
// closed: each registers again, with a new watcher.
func (w *watcher) close() error {
	w.mu.Lock()
	w.closing = true
	for c := range w.conns {
		c.Close()
	}
	w.mu.Unlock()
	err := w.ln.Close()
	w.wg.Wait()
	close(w.sweep) // no watch is left to ask for one
	<-w.swept
	return err
}

func (w *watcher) accept() {
	for {
		conn, p, err := w.ln.Accept()
		if err != nil {
			return // closed
		}
		go w.serveGuard(conn, p)
	}
}

// serveGuard takes one guard's registration, then waits for its end.
func (w *watcher) serveGuard(conn *os.File, p pidfile.Peer) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReaderSize(conn, 128).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 2 || f[0] != "run" || !pidfile.ValidRunID(f[1]) {
		w.reapDue.Store(true) // a guard killed before it registered, perhaps
		return
	}
	id := f[1]
	known := pidfile.Entry{RunID: id, GuardPID: p.PID}
	known.BootID, _ = killtree.BootID()
	// The guard's start ticks, as it says them (they only narrow a wait and
	// a scan; a wrong value costs a full scan, never a wrong kill), or read.
	if len(f) > 2 {
		known.GuardStart, _ = strconv.ParseUint(f[2], 10, 64)
	}
	if known.GuardStart == 0 {
		if g, err := killtree.Lookup(p.PID); err == nil {
			known.GuardStart = g.Start
		}
	}
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.conns[conn] = true
	w.wg.Add(1)
	w.mu.Unlock()
	defer w.wg.Done()
	w.runs.Add(1)
	w.busy()
	w.reapDue.Store(true)
	_ = conn.SetReadDeadline(time.Time{})
	var b [64]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			break // the guard's end, whatever it was
		}
	}
	w.mu.Lock()
	delete(w.conns, conn)
	closing := w.closing
	w.mu.Unlock()
	if !closing {
		// Not a watcher going away: the guard's end, clean or not.
		w.runEnded(id, known)
	}
	w.busy()
	w.runs.Add(-1)
}

// runEnded does what a watchdog did at its run's end (see watch), without
// blocking an OS thread on a lock: the guard's lock is taken once the guard
// has exited (waited for on a pidfd, through the runtime's poller). A run
// whose entry is gone ended cleanly and has its cookie swept, with the runs
// ending about then; one whose entry is still there lost its guard, and is
// reaped now.
func (w *watcher) runEnded(id string, known pidfile.Entry) {
	h, err := w.reg.TryLock(id)
	if errors.Is(err, pidfile.ErrLive) && known.GuardPID > 0 {
		waitExit(killtree.ID{PID: known.GuardPID, Start: known.GuardStart}, 2*time.Second)
		h, err = w.reg.TryLock(id)
	}
	if errors.Is(err, pidfile.ErrLive) {
		h, err = w.reg.WaitLock(id) // held by a reap or kill now: its turn first
	}
	if err != nil {
		return // gone: reaped or removed by someone else
	}
	if _, rerr := w.reg.Read(id); errors.Is(rerr, pidfile.ErrGone) {
		h.Close()
		w.mu.Lock()
		w.toSweep[id] = known
		w.mu.Unlock()
		select {
		case w.sweep <- struct{}{}:
		default: // a sweep is due already, and will find this run too
		}
		return
	}
	_, _ = reapLocked(w.reg, h, min(w.grace, WatchdogGrace), false, pidfile.EventWatchdog, "watchdog: guard died", nil, known)
}

// sweeper sweeps for the cookies of runs that ended cleanly: sweepWindow
// after the first of them, all that ended meanwhile in one scan (the
// startup reap takes every run whose lock is free), under the registry's
// sweep lock.
func (w *watcher) sweeper() {
	defer close(w.swept)
	for range w.sweep {
		time.Sleep(sweepWindow)
		release, err := w.reg.SweepLock()
		w.mu.Lock()
		known := w.toSweep
		w.toSweep = map[string]pidfile.Entry{}
		w.mu.Unlock()
		startupReap(w.reg, min(w.grace, WatchdogGrace), known)
		if err == nil {
			release()
		}
	}
}
