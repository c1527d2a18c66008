package reaper

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

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
	w := &watcher{reg: reg, grace: grace, ln: ln, toSweep: map[string]pidfile.Entry{},
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

	runs     atomic.Int64 // registered runs not ended yet
	lastBusy atomic.Int64 // when a run last registered or ended (unix ns)
	reapDue  atomic.Bool  // a registration, or a connection ended unregistered, since the last reap

	mu      sync.Mutex
	toSweep map[string]pidfile.Entry // runs ended cleanly, with their guards, for the sweeper
}

func (w *watcher) busy() { w.lastBusy.Store(time.Now().UnixNano()) }

// runEnded ends run id, whose guard's connection ended (endRun); a clean
// end's sweep is queued for the sweeper, which sweeps the runs ending about
// then together.
func (w *watcher) runEnded(id string, known pidfile.Entry) {
	_, _ = endRun(w.reg, id, w.grace, known, func() error {
		w.mu.Lock()
		w.toSweep[id] = known
		w.mu.Unlock()
		select {
		case w.sweep <- struct{}{}:
		default: // a sweep is due already, and will find this run too
		}
		return nil
	})
}

// sweeper sweeps for the cookies of runs that ended cleanly: sweepWindow
// after the first of them, all that ended meanwhile in one scan, under the
// registry's sweep lock. It takes those runs only: a stale run it was not
// told of is the next startup reap's (reapDue).
func (w *watcher) sweeper() {
	defer close(w.swept)
	for range w.sweep {
		time.Sleep(sweepWindow)
		release, err := w.reg.SweepLock()
		w.mu.Lock()
		known := w.toSweep
		w.toSweep = map[string]pidfile.Entry{}
		w.mu.Unlock()
		reapKnown(w.reg, min(w.grace, WatchdogGrace), known)
		if err == nil {
			release()
		}
	}
}
