package launcher

import (
	"errors"

	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// treeEvery is how often the run's tree is recorded: a process that escaped
// the group and cleared its environment is on record this soon after it
// appeared, should the guard then die.
const treeEvery = 250 * time.Millisecond

// watchRun keeps the entry current while the run lives: the guard's
// descendants (written only when the set changes) and the session id from
// claude's own sessions file, re-read when it changes. refresh (when not
// nil) runs before each record, to update what exclude knows.
func watchRun(rec *record, child killtree.Proc, refresh func(), exclude func(killtree.Proc) bool) chan struct{} {
	stop := make(chan struct{})
	go func() {
		sessPath := reaper.SessionsFile(child.PID)
		var sessMod time.Time
		t := time.NewTicker(treeEvery)
		defer t.Stop()
		for {
			// The entry already holds the child, all there is at its
			// start: the first look is one period in, off the launch.
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if sessPath != "" {
				if fi, err := os.Stat(sessPath); err == nil && !fi.ModTime().Equal(sessMod) {
					sessMod = fi.ModTime()
					rec.setSession(reaper.ReadSessionsFile(sessPath, child.PID, child.Start), "")
				}
			}
			if refresh != nil {
				refresh()
			}
			var tree []pidfile.Proc
			for _, p := range killtree.Descendants(os.Getpid()) {
				if !exclude(p) {
					tree = append(tree, pidfile.Proc{PID: p.PID, Start: p.Start})
				}
			}
			rec.setTree(tree)
		}
	}()
	return stop
}

// copyStdout copies the child's stdout to the guard's byte for byte, each
// read written at once, and watches it for the session id. When the reader
// of the guard's stdout goes away, the pipe is closed so the child meets a
// broken pipe, as it would without the guard.
func copyStdout(r *os.File, rec *record, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	scan := newInitScanner(rec.setSession)
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := os.Stdout.Write(buf[:n]); werr != nil {
				return
			}
			scan.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// exclude tells processes of the guard's that are not the run's: the
// watchdog, and claude's background daemon with all of its.
func (g *guard) exclude(p killtree.Proc) bool {
	g.watchMu.Lock()
	defer g.watchMu.Unlock()
	return p.ID == g.watchdog || g.daemon.has(p)
}

// members finds what is left of the run now: the members of its cgroup,
// and what outside finds.
func (g *guard) members() []killtree.ID {
	var ids []killtree.ID
	if g.cg != nil {
		for _, id := range g.cg.Procs() {
			if !g.exclude(killtree.Proc{ID: id}) {
				ids = append(ids, id)
			}
		}
	}
	return append(ids, g.outside()...)
}

// outside finds what is left of the run outside its cgroup: everything
// below the guard (a subreaper, so orphans come back to it), and unless the
// watchdog sweeps after the guard, the child's group, the recorded tree and
// every process carrying the run's cookie (a scan of every process).
func (g *guard) outside() []killtree.ID {
	var ids []killtree.ID
	for _, p := range killtree.Descendants(os.Getpid()) {
		if !g.exclude(p) {
			ids = append(ids, p.ID)
		}
	}
	if g.sweepLater() {
		return ids
	}
	e := g.rec.snapshot()
	if s, err := reaper.TakeSnapshotFor(e); err == nil {
		for _, p := range s.Members(e) {
			if !g.exclude(p) {
				ids = append(ids, p.ID)
			}
		}
	}
	return ids
}

// sweepLater reports whether the scan for the run's cookie is left to the
// watchdog, after the guard has exited. It may be, where the guard's own
// tree holds the whole run (a Linux subreaper: every orphan comes back to
// it): what carries the cookie outside it was handed to some other daemon,
// and a few milliseconds later is as good. That keeps a scan of every
// process off each run's exit.
func (g *guard) sweepLater() bool {
	g.watchMu.Lock()
	defer g.watchMu.Unlock()
	return g.subreaper && g.watchdog.PID != 0
}

// cleanup ends what the child left behind, unless told to keep it.
func (g *guard) cleanup() {
	if g.cfg.KeepDescendants && !g.ending {
		if g.cg != nil {
			// Kept processes keep their cgroup; an empty one goes.
			_ = g.cg.Remove()
		}
		return
	}
	var rep killtree.Report
	if g.cg != nil {
		// TERM to every member, the grace, then cgroup.kill: whatever was
		// forked meanwhile is a member too, and goes with the rest.
		rep = g.cg.End(g.outside, syscall.SIGTERM, g.cfg.Grace, g.child.ID)
	} else {
		rep = killtree.End(g.members, syscall.SIGTERM, g.cfg.Grace, g.child.ID)
	}
	g.audit(syscall.SIGTERM, rep, "left after the command exited")
	if len(rep.Left) > 0 {
		g.cfg.Warn("%d processes of the run survived SIGKILL: %v", len(rep.Left), rep.Left)
	}
}

// killAll ends the whole run now: the grace period is over.
func (g *guard) killAll() {
	if g.cg != nil {
		_ = g.cg.Kill()
	}
	// The child is never stopped: the guard would follow it into the stop.
	g.audit(0, killtree.End(g.members, 0, 0, g.child.ID), "told to end, grace period over")
}

// audit writes what the guard's own cleanup signalled to the audit log, as
// the reaper's does: the polite round, and the SIGKILL escalation apart.
func (g *guard) audit(sig syscall.Signal, rep killtree.Report, why string) {
	reg, runID := g.rec.registry()
	if reg == nil {
		return
	}
	sess := g.rec.snapshot().SessionID
	if sig != 0 && len(rep.Termed) > 0 {
		reg.Audit(pidfile.Event{Event: pidfile.EventCleanup, RunID: runID, SessionID: sess,
			Signal: killtree.SignalName(sig), PIDs: idPIDs(rep.Termed), Left: idPIDs(rep.Left), Why: why})
	}
	if len(rep.Killed) > 0 {
		reg.Audit(pidfile.Event{Event: pidfile.EventSIGKILL, RunID: runID, SessionID: sess, Signal: "KILL",
			PIDs: idPIDs(rep.Killed), Left: idPIDs(rep.Left), Why: why + ": still there after the grace period"})
	}
}

func idPIDs(ids []killtree.ID) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.PID)
	}
	return out
}

// reapEarlier reaps what crashed runs left, once the run has lived
// reaper.StartupDelay, off the launch path; the watchdog does it when there
// is one. A run that ends sooner leaves it to the next launch: each run is
// reaped under its own lock, so an interrupted reap is resumed too.
func (g *guard) reapEarlier() {
	if reg, _ := g.rec.registry(); reg != nil {
		time.AfterFunc(reaper.StartupDelay, func() { reaper.StartupReap(reg, g.cfg.Grace) })
	}
}

// startWatchdog starts the detached watchdog that reaps the run should the
// guard die. Its failure costs a warning: the next launch's reap still
// covers the run.
func (g *guard) startWatchdog() {
	reg, runID := g.rec.registry()
	if reg == nil {
		return // nothing recorded, nothing to watch
	}
	self, err := os.Executable()
	if err == nil {
		var pid int
		// The lock is held from before the fork until the watchdog's
		// identity is known: exclude waits for it, so the tree recorder
		// never takes the new watchdog for a process of the run.
		g.watchMu.Lock()
		// argv[0] is claude-guard even when this binary runs as the claude
		// shim: under the name claude it would be a shim again.
		pid, err = startDetached(self, []string{"claude-guard", WatchdogCommand, reg.Path(), runID})
		if err == nil {
			g.watchdog = identity(pid)
		}
		g.watchMu.Unlock()
		if err == nil {
			return
		}
	}
	g.cfg.Warn("cannot start the watchdog: %v", err)
}

// identity is pid's identity now, or the bare pid should it be gone already.
func identity(pid int) killtree.ID {
	p, err := killtree.Lookup(pid)
	if err != nil {
		return killtree.ID{PID: pid}
	}
	return p.ID
}

// WatchdogCommand is the hidden subcommand that runs a watchdog.
const WatchdogCommand = "__watchdog"

func startError(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf(127, "%s: command not found", name)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		return errorf(126, "%s: cannot execute: %v", name, err)
	}
	return errorf(1, "start %s: %v", name, err)
}
