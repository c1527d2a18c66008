package reaper

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// AdoptWindow is how long what a crashed daemon left (its workers, now under
// init) is given for claude's own re-adoption, by a new daemon that the next
// `claude agents` or `claude --bg` starts, before it is ended. A daemon that
// exits on its own (idle exit, `claude daemon stop`) gets no window: what it
// left is ended at once. $CLAUDE_GUARD_DAEMON_ADOPT (a duration) overrides it.
const AdoptWindow = 30 * time.Second

func adoptWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("CLAUDE_GUARD_DAEMON_ADOPT")); err == nil && d >= 0 {
		return d
	}
	return AdoptWindow
}

// StartDaemonWatcher starts a detached WatchDaemon for cfgDir. The launcher
// sets it (starting processes is its job); ReapStale uses it to re-watch a
// daemon whose watcher died.
var StartDaemonWatcher func(reg *pidfile.Registry, cfgDir string) error

// daemonPoll is how often the watcher records the daemon's tree and
// sessions, and how soon after a kill of the daemon it is on the record.
const daemonPoll = time.Second

// WatchDaemon is the watcher of claude's daemon of cfgDir: it records the
// daemon in the registry as an entry of its own (kind daemon) and holds its
// lock while it lives, keeping its tree and sessions on record. When the
// daemon ends, and no successor took its place, it ends what the daemon
// left, audited, and removes the entry. One watcher per cfgDir: a second
// returns at once.
func WatchDaemon(reg *pidfile.Registry, cfgDir string, grace time.Duration) error {
	wl, err := reg.LockWatch(cfgDir)
	if errors.Is(err, pidfile.ErrLive) {
		return nil
	}
	if err != nil {
		return err
	}
	defer wl.Close()
	w := &daemonWatcher{reg: reg, cfgDir: cfgDir}
	w.adoptEntries()
	crashed := false
	for {
		d, ok := FindDaemon(cfgDir)
		if !ok && crashed {
			// claude re-adopts a dead daemon's workers when a new daemon
			// starts: give it the window, if anything is left to adopt.
			deadline := time.Now().Add(adoptWindow())
			for !ok && time.Now().Before(deadline) && len(w.leftovers()) > 0 {
				time.Sleep(250 * time.Millisecond)
				d, ok = FindDaemon(cfgDir)
			}
		}
		if !ok {
			return w.finish(crashed, grace)
		}
		if err := w.record(d); err != nil {
			return err
		}
		crashed = w.follow(d)
	}
}

type daemonWatcher struct {
	reg    *pidfile.Registry
	cfgDir string
	h      *pidfile.Handle
	e      pidfile.Entry
}

// adoptEntries takes over the entries of cfgDir's daemon whose watcher is
// gone: their records are merged into one, kept.
func (w *daemonWatcher) adoptEntries() {
	boot, _ := killtree.BootID()
	runs, _ := w.reg.List(boot)
	for _, r := range runs {
		if r.Kind != pidfile.KindDaemon || r.ConfigDir != w.cfgDir {
			continue
		}
		h, err := lockSoon(w.reg, r.RunID)
		if err != nil {
			continue
		}
		if w.h == nil {
			w.h, w.e = h, r.Entry
			continue
		}
		w.e.Tree = append(w.e.Tree, pidfile.Proc{PID: r.PID, Start: r.Start})
		w.e.Tree = append(w.e.Tree, r.Tree...)
		w.e.Sessions = mergeSessions(w.e.Sessions, r.Sessions)
		h.Remove()
	}
}

// lockSoon takes the lock of a daemon entry whose watcher is gone. Holding
// the watch lock, no other watcher can hold it: whoever does is a passing
// ps, reap or kill, so it is waited for a little rather than leaving the old
// entry beside a new one.
func lockSoon(reg *pidfile.Registry, id string) (*pidfile.Handle, error) {
	for deadline := time.Now().Add(2 * time.Second); ; {
		h, err := reg.TryLock(id)
		if !errors.Is(err, pidfile.ErrLive) || !time.Now().Before(deadline) {
			return h, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// record writes the daemon d into the watcher's entry: the daemon, every
// process of its ever seen and still running, its sessions.
func (w *daemonWatcher) record(d Daemon) error {
	if w.h == nil {
		h, err := w.reg.Create(pidfile.NewRunID())
		if err != nil {
			return err
		}
		w.h = h
		w.e = pidfile.Entry{RunID: h.ID(), StartedAt: time.Now().UTC().Truncate(time.Millisecond)}
	}
	e := w.e
	if e.PID != 0 && (e.PID != d.ID.PID || e.Start != d.ID.Start) {
		// a successor: the predecessor's leftovers stay on record
		e.Tree = append(e.Tree, pidfile.Proc{PID: e.PID, Start: e.Start})
		e.Cgroup = ""
	}
	// The cgroup of its own the run that started it moved it into: what
	// it forks between two records is there.
	if p, err := killtree.CgroupOf(d.ID.PID); err == nil && filepath.Base(p) == killtree.DaemonCgroupName(d.ID) {
		e.Cgroup = p
	}
	e.Kind, e.ConfigDir, e.Label = pidfile.KindDaemon, w.cfgDir, "daemon"
	e.PID, e.Start, e.PGID = d.ID.PID, d.ID.Start, d.ID.PID
	e.BootID, _ = killtree.BootID()
	e.UID = os.Geteuid()
	e.GuardPID = os.Getpid()
	if g, err := killtree.Lookup(e.GuardPID); err == nil {
		e.GuardStart = g.Start
	}
	if e.Argv == nil || e.PID != w.e.PID {
		e.Argv, e.Cwd = killtree.Cmdline(d.ID.PID), killtree.Cwd(d.ID.PID)
	}
	var tree []pidfile.Proc
	for _, t := range e.Tree {
		if killtree.Alive(killtree.ID{PID: t.PID, Start: t.Start}) && !slices.Contains(tree, t) {
			tree = append(tree, t)
		}
	}
	for _, p := range d.Procs {
		if t := (pidfile.Proc{PID: p.PID, Start: p.Start}); p.ID != d.ID && !slices.Contains(tree, t) {
			tree = append(tree, t)
		}
	}
	e.Tree = tree
	e.Sessions = mergeSessions(d.Sessions, e.Sessions)
	w.e = e
	return w.h.Write(&w.e)
}

// mergeSessions is a with the sessions of b it lacks.
func mergeSessions(a, b []pidfile.Session) []pidfile.Session {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.ContainsFunc(out, func(o pidfile.Session) bool { return o.ID == s.ID }) {
			out = append(out, s)
		}
	}
	return out
}

// follow records the daemon until it exits, and reports whether it died
// leaving its status file behind (a crash or SIGKILL: claude rewrites or
// removes it when it stops on its own).
func (w *daemonWatcher) follow(d Daemon) (crashed bool) {
	ew := newExitWaiter(d.ID)
	defer ew.close()
	for !ew.wait(daemonPoll) {
		// its own tree only: tools that left it are found by their
		// session at the end, with one scan of every process
		if now, ok := DaemonNear(w.cfgDir, d.ID.PID); ok && now.ID == d.ID {
			w.record(now)
		}
	}
	id, ok := daemonStatus(w.cfgDir)
	return ok && id == d.ID
}

// leftovers is what of the entry's record still runs.
func (w *daemonWatcher) leftovers() []killtree.ID {
	s, err := TakeSnapshot()
	if err != nil {
		return nil
	}
	return ids(s.daemonMembers(w.e))
}

// finish ends what the daemon left, audited, and removes the entry.
func (w *daemonWatcher) finish(crashed bool, grace time.Duration) error {
	if w.h == nil {
		return nil
	}
	why := "daemon ended: what it left"
	if crashed {
		why = "daemon died (crash or SIGKILL): its workers, not re-adopted within " + adoptWindow().String()
	}
	r := End(w.e, syscall.SIGTERM, grace)
	r.Why = why
	if len(r.Termed)+len(r.Killed) > 0 {
		audit(w.reg, pidfile.EventDaemon, syscall.SIGTERM, r)
	}
	return w.h.Remove()
}

// EndDaemon ends daemon entry e: the daemon first, so it cannot replace
// what is ended after it (it respawns a killed spare within milliseconds),
// then everything it left. sig, then SIGKILL after grace, each time.
func EndDaemon(e pidfile.Entry, sig syscall.Signal, grace time.Duration) Result {
	daemon := killtree.ID{PID: e.PID, Start: e.Start}
	first := killtree.End(func() []killtree.ID {
		if killtree.Alive(daemon) {
			return []killtree.ID{daemon}
		}
		return nil
	}, sig, grace)
	r := End(e, sig, grace)
	r.Termed = append(first.Termed, r.Termed...)
	r.Killed = append(first.Killed, r.Killed...)
	r.Left = append(first.Left, r.Left...)
	return r
}

// waitPolling waits up to d for id to exit where no pidfd can be had,
// looking at once and then less and less often, up to every 100 ms.
func waitPolling(id killtree.ID, d time.Duration) bool {
	pause := time.Millisecond
	for deadline := time.Now().Add(d); killtree.Alive(id); {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 100*time.Millisecond)
	}
	return true
}

// reapDaemons ends every daemon on record (reap --daemon), the daemon first.
func reapDaemons(reg *pidfile.Registry, opts Options) []Result {
	rows, _ := Rows(reg, false)
	var out []Result
	for _, r := range rows {
		if r.Kind != pidfile.KindDaemon {
			continue
		}
		e, err := reg.Read(r.RunID)
		if err != nil {
			continue
		}
		why := "reap --daemon: claude's daemon of " + e.ConfigDir
		if opts.DryRun {
			out = append(out, Result{RunID: r.RunID, Label: r.Label, Why: why, DryRun: true, Termed: ids(r.members)})
			continue
		}
		res := EndDaemon(e, syscall.SIGTERM, opts.Grace)
		res.Why = why
		audit(reg, pidfile.EventReap, syscall.SIGTERM, res)
		out = append(out, res)
	}
	return out
}
