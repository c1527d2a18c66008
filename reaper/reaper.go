// Package reaper decides which runs are stale and ends what is left of them:
// the startup reap, the watchdog, and the work behind ps, reap and kill. It
// reads the registry (pidfile) and acts through killtree.
package reaper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// Snapshot is the processes of the current user at one moment, with the run
// cookies each carries.
type Snapshot struct {
	BootID  string
	Procs   []killtree.Proc
	cookies map[int]string // pid -> its cookie list

	// indexes, built once, so Members costs the size of one run, not of
	// the process table (ps over thousands of entries)
	byPID    map[int]killtree.Proc
	byPGID   map[int][]killtree.Proc
	byCookie map[string][]int // run id -> pids: a nested run's cookie lists every outer run

	// claude's background daemons: never members of a run
	env      map[int][2]string // cookie carriers: their claude config dir, session id
	daemons  map[string]*Daemon
	inDaemon map[int]bool
	kids     map[int][]killtree.Proc
	fullEnv  map[int][2]string
}

// TakeSnapshot reads the process table once. Only the current user's
// processes are kept: no other process is ever a member of a run.
func TakeSnapshot() (*Snapshot, error) { return take(0) }

// TakeSnapshotFor reads the process table to find the members of run e. Only
// processes started since e's guard can carry its cookie: the guard made the
// cookie up, and everything that inherited it was forked after. The
// environment of older processes (most of the machine) is not read.
func TakeSnapshotFor(e pidfile.Entry) (*Snapshot, error) {
	boot, err := killtree.BootID()
	if err != nil || e.BootID != boot || e.GuardStart == 0 {
		return take(0)
	}
	return take(e.GuardStart)
}

// take reads the process table; the cookies only of processes started at or
// after since (start ticks of this boot), of all when since is 0.
func take(since uint64) (*Snapshot, error) {
	boot, err := killtree.BootID()
	if err != nil {
		return nil, err
	}
	all, err := killtree.All()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{BootID: boot, cookies: map[int]string{}, byPID: map[int]killtree.Proc{},
		byPGID: map[int][]killtree.Proc{}, byCookie: map[string][]int{}, env: map[int][2]string{}}
	dirs := map[string]bool{}
	uid := os.Geteuid()
	for _, p := range all {
		if p.UID != uid || p.Zombie {
			continue
		}
		s.Procs = append(s.Procs, p)
		s.byPID[p.PID] = p
		s.byPGID[p.PGID] = append(s.byPGID[p.PGID], p)
		if p.Start < since {
			continue
		}
		env := killtree.EnvValues(p.PID, pidfile.CookieEnv, "CLAUDE_CONFIG_DIR", "HOME", "CLAUDE_CODE_SESSION_ID")
		if v := env[0]; v != "" {
			s.cookies[p.PID] = v
			dir := configDirOf(env[1], env[2])
			s.env[p.PID] = [2]string{dir, env[3]}
			if dir != "" {
				dirs[dir] = true
			}
			for _, id := range strings.Split(v, ":") {
				s.byCookie[id] = append(s.byCookie[id], p.PID)
			}
		}
	}
	s.findDaemons(dirs)
	return s, nil
}

// Members returns what is left of run e in s: the members of its cgroup, its
// recorded child and tree (where pid, start ticks and boot id all match), its
// process group while that provably is the run's, and every process carrying
// its cookie. The guard itself and the caller are never members, nor is
// claude's background daemon or anything of its (daemon.go), whatever cookie
// it carries: the members of a daemon's own entry are its cgroup and tree.
func (s *Snapshot) Members(e pidfile.Entry) []killtree.Proc {
	if e.Kind == pidfile.KindDaemon {
		return s.daemonMembers(e)
	}
	self := os.Getpid()
	seen := map[int]bool{}
	var out []killtree.Proc
	add := func(p killtree.Proc) {
		if p.PID <= 1 || p.PID == self || (p.PID == e.GuardPID && p.Start == e.GuardStart) || seen[p.PID] || s.inDaemon[p.PID] {
			return
		}
		seen[p.PID] = true
		out = append(out, p)
	}
	if e.BootID != "" && e.BootID == s.BootID && e.Start > 0 {
		if cg := RunCgroup(e); cg != nil {
			for _, id := range cg.Procs() {
				if p, ok := s.byPID[id.PID]; ok && p.Start == id.Start {
					add(p)
				}
			}
		}
		recorded := append([]pidfile.Proc{{PID: e.PID, Start: e.Start}}, e.Tree...)
		provable := false // the group is the run's
		for _, t := range recorded {
			if p, ok := s.byPID[t.PID]; ok && p.Start == t.Start && t.Start >= e.Start {
				add(p)
				provable = provable || p.PGID == e.PGID
			}
		}
		if e.PGID > 1 {
			group := s.byPGID[e.PGID]
			// A group id is reused once the group empties: the group
			// counts only while one of its members is provably the
			// run's, a recorded process or one carrying the cookie; a
			// group id is never given out while any member lives.
			for _, p := range group {
				provable = provable || s.carries(p.PID, e.RunID)
			}
			for _, p := range group {
				if provable && p.Start >= e.Start {
					add(p)
				}
			}
		}
	}
	for _, pid := range s.byCookie[e.RunID] {
		add(s.byPID[pid])
	}
	return out
}

// carries reports whether pid carries run id's cookie.
func (s *Snapshot) carries(pid int, id string) bool {
	for _, c := range strings.Split(s.cookies[pid], ":") {
		if c == id {
			return true
		}
	}
	return false
}

// RunCgroup returns run e's cgroup (a daemon entry's: the daemon's own), or
// nil when it has none, or when the path its entry gives is not a
// claude-guard cgroup made for this run: an entry is untrusted input, and a
// forged one must not have an unrelated cgroup killed.
func RunCgroup(e pidfile.Entry) *killtree.Cgroup {
	if e.Cgroup == "" {
		return nil
	}
	name := e.RunID
	if e.Kind == pidfile.KindDaemon {
		name = killtree.DaemonCgroupName(killtree.ID{PID: e.PID, Start: e.Start})
	}
	cg, err := killtree.OpenCgroup(e.Cgroup, name)
	if err != nil {
		return nil
	}
	return cg
}

// ids turns processes into identities for killtree.
func ids(ps []killtree.Proc) []killtree.ID {
	out := make([]killtree.ID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// Result says what ending one run did.
type Result struct {
	RunID     string        `json:"run_id"`
	SessionID string        `json:"session_id,omitempty"`
	Label     string        `json:"label,omitempty"`
	Why       string        `json:"why"`
	Termed    []killtree.ID `json:"termed"`
	Killed    []killtree.ID `json:"killed"`
	Left      []killtree.ID `json:"left,omitempty"`
	DryRun    bool          `json:"dry_run,omitempty"`
}

// End ends everything of run e: sig, then SIGKILL after grace for what is
// still there. It does not touch the registry.
func End(e pidfile.Entry, sig syscall.Signal, grace time.Duration) Result {
	find := func() []killtree.ID {
		s, err := TakeSnapshotFor(e)
		if err != nil {
			return nil
		}
		return ids(s.Members(e))
	}
	// The run's child is never stopped: a live guard would follow it into
	// the stop (kill of a running run).
	child := killtree.ID{PID: e.PID, Start: e.Start}
	var rep killtree.Report
	if cg := RunCgroup(e); cg != nil {
		rep = cg.End(find, sig, grace, child)
	} else {
		rep = killtree.End(find, sig, grace, child)
	}
	return Result{RunID: e.RunID, SessionID: e.SessionID, Label: e.Label,
		Termed: rep.Termed, Killed: rep.Killed, Left: rep.Left}
}

// ReapRun reaps one run if it is stale: takes its lock (so of two reapers
// exactly one acts), ends what is left, and removes its files. ErrLive: the
// guard holds it; pidfile.ErrGone: nothing to do.
// snap, taken after the run was seen stale, spares a run with nothing in it
// a scan of its own: a dead guard's run cannot grow from nothing.
func reapRun(reg *pidfile.Registry, id string, grace time.Duration, dryRun bool, snap *Snapshot) (Result, error) {
	h, err := lockStale(reg, id)
	if err != nil {
		return Result{}, err
	}
	return reapLocked(reg, h, grace, dryRun, pidfile.EventReap, "stale: guard gone", snap, pidfile.Entry{})
}

// known is the entry as read earlier (by the run's watchdog), or zero: when
// the entry is gone by now, its guard's identity still narrows the sweep.
func reapLocked(reg *pidfile.Registry, h *pidfile.Handle, grace time.Duration, dryRun bool, event, why string, snap *Snapshot, known pidfile.Entry) (Result, error) {
	e, err := reg.Read(h.ID())
	switch {
	case errors.As(err, new(*pidfile.BadFileError)):
		// Not a valid entry: moved aside, the run is swept by its cookie.
		reg.QuarantineEntry(h.ID(), err)
		e = pidfile.Entry{RunID: h.ID()}
		why = "entry unreadable, quarantined: swept by cookie"
	case errors.Is(err, pidfile.ErrGone):
		// A lock without an entry: the guard ended cleanly and left the
		// cookie sweep to its watchdog, or died before recording its child.
		// The cookie is all there is to go by.
		e = pidfile.Entry{RunID: h.ID()}
		if known.RunID == h.ID() {
			e.GuardPID, e.GuardStart, e.BootID = known.GuardPID, known.GuardStart, known.BootID
		}
		why = "only the run id left: swept by cookie"
		// A guard that died before recording its child may have made its
		// cgroup already, beside the caller's own when the caller is its
		// watchdog (started by the guard, in the guard's cgroup).
		if own, err := killtree.OwnCgroup(); err == nil {
			if cg := filepath.Join(own, killtree.CgroupDir, e.RunID); RunCgroup(pidfile.Entry{RunID: e.RunID, Cgroup: cg}) != nil {
				e.Cgroup = cg
			}
		}
	case err != nil:
		h.Close()
		return Result{}, err
	}
	if e.Kind == pidfile.KindDaemon {
		event, why = pidfile.EventDaemon, "claude's daemon and its watcher gone: what it left"
	}
	if dryRun {
		h.Close()
		r := Result{RunID: e.RunID, SessionID: e.SessionID, Label: e.Label, Why: why, DryRun: true}
		if s, err := TakeSnapshot(); err == nil {
			r.Termed = ids(s.Members(e))
		}
		return r, nil
	}
	var r Result
	if cg := RunCgroup(e); snap != nil && len(snap.Members(e)) == 0 && (cg == nil || !cg.Populated()) {
		if cg != nil {
			_ = cg.Remove()
		}
		r = Result{RunID: e.RunID, SessionID: e.SessionID, Label: e.Label}
	} else {
		r = End(e, syscall.SIGTERM, grace)
	}
	r.Why = why
	// A run with only its id left (its guard ended cleanly, or died
	// before recording its child) is logged only if it had leftovers.
	if e.PID != 0 || len(r.Termed)+len(r.Killed) > 0 {
		audit(reg, event, syscall.SIGTERM, r)
	}
	if len(r.Left) > 0 {
		h.Close()
		return r, fmt.Errorf("reaper: run %s: %d processes survived SIGKILL", e.RunID, len(r.Left))
	}
	return r, h.Remove()
}

// lockStale takes the lock of run id if its guard is gone. An entry left
// without its lock file (removed, or quarantined as a FIFO or symlink) is
// taken over with a new lock, once the guard it records is seen gone:
// without a lock file, the guard's identity is all that tells a live run.
func lockStale(reg *pidfile.Registry, id string) (*pidfile.Handle, error) {
	h, err := reg.TryLock(id)
	if !errors.Is(err, pidfile.ErrGone) {
		return h, err
	}
	e, rerr := reg.Read(id)
	if rerr != nil {
		return nil, pidfile.ErrGone
	}
	boot, _ := killtree.BootID()
	if guardAlive(e, boot) {
		return nil, pidfile.ErrLive
	}
	return reg.Relock(id)
}

// guardAlive reports whether the guard e records still runs.
func guardAlive(e pidfile.Entry, boot string) bool {
	return e.GuardPID > 0 && e.BootID == boot && killtree.Alive(killtree.ID{PID: e.GuardPID, Start: e.GuardStart})
}

// ReapStale reaps every stale run in the registry. Live runs are left alone.
// Each run is reaped under its own lock, so an interrupted reap is picked up
// by the next one.
func ReapStale(reg *pidfile.Registry, grace time.Duration, dryRun bool) ([]Result, []error) {
	boot, _ := killtree.BootID()
	runs, errs := reg.List(boot)
	if !dryRun {
		killtree.RemoveEmptyCgroups(LeftoverCgroupAge)
	}
	var snap *Snapshot
	var out []Result
	for _, r := range runs {
		// An entry of a newer schema is left to the version that wrote it.
		if r.Live || r.Unknown {
			continue
		}
		if snap == nil {
			var err error
			if snap, err = TakeSnapshot(); err != nil {
				return out, append(errs, err)
			}
		}
		if r.Kind == pidfile.KindDaemon && snap.daemonRuns(r.Entry) {
			// Its watcher died, the daemon did not: watch it again, never
			// end it as stale.
			if StartDaemonWatcher != nil && !dryRun {
				StartDaemonWatcher(reg, r.ConfigDir)
			}
			continue
		}
		res, err := reapRun(reg, r.RunID, grace, dryRun, snap)
		switch {
		case errors.Is(err, pidfile.ErrLive), errors.Is(err, pidfile.ErrGone):
			continue
		case err != nil:
			errs = append(errs, err)
		}
		if res.RunID != "" {
			out = append(out, res)
		}
	}
	return out, errs
}

// StartupReap reaps every stale run, as ReapStale does, in little memory and
// without reading the entries of live runs: it takes the locks of a batch
// of runs first (a lock that can be taken is a run whose guard is gone), then
// reads and reaps only those, with one snapshot of the process table per
// batch, taken after their guards were seen gone.
func StartupReap(reg *pidfile.Registry, grace time.Duration) []error {
	return startupReap(reg, grace, nil)
}

// startupReap is StartupReap, told the guards of some runs (the watcher
// knows those of the runs it saw end). A batch made only of such runs reads
// the environments only of processes started since the oldest of their
// guards: nothing older can carry their cookies. Back to back, that is a
// few processes instead of every process of the user.
func startupReap(reg *pidfile.Registry, grace time.Duration, known map[string]pidfile.Entry) []error {
	var errs []error
	err := reg.EachLock(startupBatch, func(ids []string) bool {
		return reapBatch(reg, ids, grace, known, &errs)
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// reapKnown reaps the runs of known only: the watcher's sweep of the runs
// it saw end. The registry is not listed, and no other run is taken, so the
// sweep reads the environments of recent processes only (see startupReap)
// however many runs live beside them; what else is stale is the next
// startup reap's.
func reapKnown(reg *pidfile.Registry, grace time.Duration, known map[string]pidfile.Entry) []error {
	ids := make([]string, 0, len(known))
	for id := range known {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for len(ids) > 0 {
		n := min(len(ids), startupBatch)
		if !reapBatch(reg, ids[:n], grace, known, &errs) {
			break
		}
		ids = ids[n:]
	}
	return errs
}

// reapBatch reaps the runs of ids whose locks are free, side by side; false
// stops the reap (no snapshot of the processes could be had).
func reapBatch(reg *pidfile.Registry, ids []string, grace time.Duration, known map[string]pidfile.Entry, errs *[]error) bool {
	var held []*pidfile.Handle
	for _, id := range ids {
		h, err := reg.TryLock(id)
		switch {
		case err == nil:
			held = append(held, h)
		case !errors.Is(err, pidfile.ErrLive) && !errors.Is(err, pidfile.ErrGone):
			*errs = append(*errs, err)
		}
	}
	if len(held) == 0 {
		return true
	}
	snap, err := take(since(held, known))
	if err != nil {
		for _, h := range held {
			h.Close()
		}
		*errs = append(*errs, err)
		return false
	}
	// Side by side: a run whose processes wait out the grace period must
	// not hold up the others, whose locks this reap now holds. At most
	// startupParallel at once: each reap's goroutine grows a stack of its
	// own, and a watcher's memory is to stay small.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, startupParallel)
	for _, h := range held {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			defer wg.Done()
			if _, err := reapLocked(reg, h, grace, false, pidfile.EventReap, "stale: guard gone", snap, known[h.ID()]); err != nil && !errors.Is(err, pidfile.ErrGone) {
				mu.Lock()
				*errs = append(*errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return true
}

// since is the start (in ticks of this boot) of the oldest guard of the
// held runs, or 0 when one of them is not known, or known from another boot.
func since(held []*pidfile.Handle, known map[string]pidfile.Entry) uint64 {
	boot, err := killtree.BootID()
	if err != nil {
		return 0
	}
	var oldest uint64
	for _, h := range held {
		e, ok := known[h.ID()]
		if !ok || e.GuardStart == 0 || e.BootID != boot {
			return 0
		}
		if oldest == 0 || e.GuardStart < oldest {
			oldest = e.GuardStart
		}
	}
	return oldest
}

// startupBatch is how many runs a startup reap holds at once, and
// startupParallel how many of them it reaps side by side.
const (
	startupBatch    = 128
	startupParallel = 16
)

// watch is the watchdog of run id: it blocks until the run's guard lets go of
// its lock. A guard that ended cleanly has removed its files by then, or its
// entry only, leaving the lock file for the watchdog to sweep for the run's
// cookie; one that died has not, and what is left of its run is reaped. The
// grace period is capped so a run is gone within about two seconds of its
// guard's death. known is the entry as read at the watchdog's start.
func watch(reg *pidfile.Registry, id string, grace time.Duration, known pidfile.Entry) (Result, error) {
	var guard killtree.ID
	if known.RunID == id {
		guard = killtree.ID{PID: known.GuardPID, Start: known.GuardStart}
	}
	return endRun(reg, id, grace, known, func() error { return sweepShared(reg, id, grace, guard) })
}

// endRun does what is due once run id's guard has let go of its lock, for
// the watchdog and the watcher alike. The lock is tried, then tried again
// once the guard (known) has exited, waited for on a pidfd through the
// runtime's poller, and only then waited for (a reap or kill holds it: its
// turn first). With the lock free and the entry gone, the guard ended
// cleanly and handed over only the sweep for its cookie (or its entry could
// not be written: a sweep by cookie is all there is to do then too): sweep
// does it, shared with the runs ending about now. With the entry there, the
// guard died, and what is left of its run is reaped.
func endRun(reg *pidfile.Registry, id string, grace time.Duration, known pidfile.Entry, sweep func() error) (Result, error) {
	h, err := reg.TryLock(id)
	if errors.Is(err, pidfile.ErrLive) && known.RunID == id && known.GuardPID > 0 {
		waitExit(killtree.ID{PID: known.GuardPID, Start: known.GuardStart}, 2*time.Second)
		h, err = reg.TryLock(id)
	}
	if errors.Is(err, pidfile.ErrLive) {
		h, err = reg.WaitLock(id)
	}
	if err != nil {
		if errors.Is(err, pidfile.ErrGone) {
			return Result{}, nil
		}
		return Result{}, err
	}
	if _, rerr := reg.Read(id); errors.Is(rerr, pidfile.ErrGone) {
		h.Close()
		return Result{}, sweep()
	}
	return reapLocked(reg, h, min(grace, WatchdogGrace), false, pidfile.EventWatchdog, "watchdog: guard died", nil, known)
}

// sweepWindow is how long the holder of the sweep lock waits for other runs
// to end before it sweeps: runs launched back to back then share one scan of
// the process table instead of one each.
const sweepWindow = 50 * time.Millisecond

// sweepShared sweeps for the cookie of run id, ended cleanly, together with
// the other runs that end about now. Under the registry's sweep lock: if run
// id is still in the registry, wait sweepWindow, then reap every run whose
// lock is free (StartupReap), one snapshot per batch. A watchdog that finds
// its run gone once it holds the lock has had it swept by the holder before.
// Without the lock the run is swept alone, as before.
func sweepShared(reg *pidfile.Registry, id string, grace time.Duration, guard killtree.ID) error {
	if guard.PID > 0 {
		waitExit(guard, 100*time.Millisecond)
	}
	release, err := reg.SweepLock()
	if err != nil {
		h, lerr := reg.TryLock(id)
		if lerr != nil {
			return nil // taken by another reaper, or gone
		}
		_, err = reapLocked(reg, h, min(grace, WatchdogGrace), false, pidfile.EventWatchdog, "watchdog: guard died", nil, pidfile.Entry{})
		return err
	}
	defer release()
	if !reg.HasLock(id) {
		return nil
	}
	time.Sleep(sweepWindow)
	errs := StartupReap(reg, min(grace, WatchdogGrace))
	return errors.Join(errs...)
}

// audit appends what ending a run did to the registry's audit log: one line
// for the polite signal, one more for what needed SIGKILL.
func audit(reg *pidfile.Registry, event string, sig syscall.Signal, r Result) {
	reg.Audit(pidfile.Event{Event: event, RunID: r.RunID, SessionID: r.SessionID, Signal: killtree.SignalName(sig),
		PIDs: pids(r.Termed), Left: pids(r.Left), Why: r.Why})
	if len(r.Killed) > 0 {
		reg.Audit(pidfile.Event{Event: pidfile.EventSIGKILL, RunID: r.RunID, SessionID: r.SessionID, Signal: "KILL",
			PIDs: pids(r.Killed), Left: pids(r.Left), Why: r.Why + ": still there after the grace period"})
	}
}

func pids(ids []killtree.ID) []int {
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.PID)
	}
	return out
}

// LeftoverCgroupAge is how long an empty claude-guard cgroup is left before
// a reap removes it: a run's cgroup is empty for the moment between its
// making and its child's start, never for seconds.
const LeftoverCgroupAge = 10 * time.Second

// WatchdogGrace caps the grace period of a watchdog's reap: a guard that was
// killed gives no time to wait out, and its run must be gone within about
// two seconds even on a loaded machine.
const WatchdogGrace = 500 * time.Millisecond

// StartupDelay is how long a run lives before its startup reap of earlier
// crashes begins: a short run (the SDKs' claude -v probe) leaves it to its
// watchdog after it has ended, so no launch ever waits on or competes with
// another run's reap.
const StartupDelay = time.Second

// Watchdog is the detached process each run starts: it watches run id and,
// once the run has ended or lived StartupDelay, reaps stale runs of earlier
// crashes (the startup reap), side by side, so a long reap of another run
// never delays this one's.
func Watchdog(reg *pidfile.Registry, id string, grace time.Duration) error {
	// Its live heap is a few hundred KiB; with the default GOGC the heap
	// still grows to the runtime's 4 MiB minimum goal before a collection,
	// which a reap of a thousand entries reaches. A quarter of that goal
	// keeps its peak RSS under 8 MiB, at a few more (small) collections.
	debug.SetGCPercent(25)
	e, _ := reg.Read(id)
	guard := killtree.ID{PID: e.GuardPID, Start: e.GuardStart}
	watched := make(chan struct{})
	var err error
	go func() {
		_, err = watch(reg, id, grace, e)
		close(watched)
	}()
	select {
	case <-watched:
		// The guard lets go of its lock just before it exits: let it
		// finish exiting before reaping others competes for the CPU.
		if guard.PID > 0 {
			waitExit(guard, 100*time.Millisecond)
		}
	case <-time.After(StartupDelay):
	}
	StartupReap(reg, min(grace, WatchdogGrace)) // crashed runs: no time to wait out, as for its own
	<-watched
	return err
}

// waitExit waits until process id has exited, at most d.
func waitExit(id killtree.ID, d time.Duration) {
	w := newExitWaiter(id)
	defer w.close()
	w.wait(d)
}
