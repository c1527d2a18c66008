package launcher

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
)

// guard is the state of one run while its child lives. What only one OS
// family has (a terminal and signals to pass on, a job object) is in
// guardOS, defined beside each family's spawn and wait.
type guard struct {
	cfg       Config
	rec       *record
	child     killtree.Proc
	ending    bool // told to end (TERM, HUP, console closed): cleanup ignores --keep-descendants
	watchMu   sync.Mutex
	watchdog  killtree.ID      // the run's watchdog or the registry's watcher; guarded by watchMu
	finishing atomic.Bool      // the run is over: a watcher going away now is no matter
	subreaper bool             // orphans of the run come back to the guard (Linux only)
	daemon    *daemonOut       // claude's background daemon, not the run's (nil: not watched here)
	cg        *killtree.Cgroup // the run's cgroup, nil where it has none
	guardOS
}

// keeping reports whether what the run left behind is to outlive it: asked
// for with --keep-descendants, and the run was not told to end.
func (g *guard) keeping() bool { return g.cfg.KeepDescendants && !g.ending }

// end is every run's end, once the child is gone: it waits for the
// watchdog's start, ends what is left of the run (still recording its tree),
// releases what the OS family holds (the terminal, the job), copies the
// rest of the child's stdout and closes the entry.
func (g *guard) end(stopWatch chan<- struct{}, watchdogUp <-chan struct{}, pr *os.File, copied <-chan struct{}) {
	<-watchdogUp
	if reg, _ := g.rec.registry(); g.daemon != nil {
		g.daemon.takeDaemonOut(reg)
	}
	// The tree is still recorded while cleanup runs: what a SIGTERM
	// handler starts is on record should the guard die now.
	g.cleanup()
	close(stopWatch)
	g.release()
	if copied != nil {
		// Whatever the child wrote is still copied; a descendant kept alive
		// by --keep-descendants may hold the pipe open, so do not wait on it
		// for ever. The pipe must take deadlines (on Windows an overlapped
		// one); that the copier closed it already is no matter.
		err := pr.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if errors.Is(err, os.ErrNoDeadline) {
			g.cfg.Warn("stdout pipe: %v", err)
		}
		<-copied
	}
	g.finishing.Store(true)
	g.rec.finish(g.sweepLater() && !g.keeping())
}
