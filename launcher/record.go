package launcher

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// record is the run's registry entry, kept current while the run lives. A
// record whose registry is unusable still carries the run id and cookie, so
// cleanup works the same; it only writes nothing.
type record struct {
	mu     sync.Mutex
	reg    *pidfile.Registry // nil: registry unusable
	h      *pidfile.Handle
	entry  pidfile.Entry
	warn   func(string, ...any)
	warned bool
}

// openRecord takes the run's lock in the registry. An unusable registry costs
// one warning, or the run itself under --strict.
func openRecord(cfg Config) (*record, error) {
	r := &record{warn: cfg.Warn}
	r.entry = pidfile.Entry{
		RunID:     pidfile.NewRunID(),
		Argv:      cfg.Argv,
		Label:     cfg.Label,
		UID:       os.Geteuid(),
		StartedAt: time.Now().UTC().Truncate(time.Millisecond),
		GraceMS:   cfg.Grace.Milliseconds(),
		Model:     argValue(cfg.Argv[1:], "--model", ""),
		SessionID: sessionFromArgs(cfg.Argv[1:]),
	}
	r.entry.Cookie = r.entry.RunID
	r.entry.Cwd, _ = os.Getwd()
	dir, err := pidfile.Dir()
	if err == nil {
		r.reg, err = pidfile.Open(dir)
	}
	if err == nil {
		r.h, err = r.reg.Create(r.entry.RunID)
	}
	if err == nil && cfg.Strict {
		err = r.recordDurably()
	}
	if err != nil {
		if cfg.Strict {
			return nil, err
		}
		r.reg = nil
		r.warn("registry unusable, running unrecorded: %v", err)
		r.warned = true
	}
	return r, nil
}

// recordDurably writes the run's entry before its command starts, and waits
// until it is on disk: under --strict a run that could not be recorded
// never starts. A failure removes the lock again.
func (r *record) recordDurably() error {
	r.entry.GuardPID = os.Getpid()
	if g, err := killtree.Lookup(r.entry.GuardPID); err == nil {
		r.entry.GuardStart = g.Start
	}
	r.entry.BootID, _ = killtree.BootID()
	if err := r.h.WriteDurable(&r.entry); err != nil {
		r.h.Remove()
		return fmt.Errorf("cannot record the run (--strict: not started): %w", err)
	}
	return nil
}

// started records the child: from here on the run is on disk.
func (r *record) started(child killtree.Proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entry.PID, r.entry.Start, r.entry.PGID = child.PID, child.Start, child.PGID
	r.entry.Tree = []pidfile.Proc{{PID: child.PID, Start: child.Start}}
	r.entry.GuardPID = os.Getpid()
	if g, err := killtree.Lookup(r.entry.GuardPID); err == nil {
		r.entry.GuardStart = g.Start
	}
	r.entry.BootID, _ = killtree.BootID()
	r.writeLocked()
}

// setCgroup records the run's cgroup, before started writes the entry.
func (r *record) setCgroup(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entry.Cgroup = path
}

// setSession records a session id (and model) from any source; a later,
// different one replaces it.
func (r *record) setSession(id, model string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == "" || (id == r.entry.SessionID && (model == "" || model == r.entry.Model)) {
		return
	}
	r.entry.SessionID = id
	if model != "" {
		r.entry.Model = model
	}
	r.writeLocked()
}

// registry returns the registry (nil when unusable or finished) and the
// run id.
func (r *record) registry() (*pidfile.Registry, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reg, r.entry.RunID
}

// setTree records the run's current descendants. It writes only when one
// appears that is not on record yet: a process that has gone is dropped from
// the record at the next write, it needs no write of its own.
func (r *record) setTree(tree []pidfile.Proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range tree {
		if !slices.Contains(r.entry.Tree, p) {
			r.entry.Tree = tree
			r.writeLocked()
			return
		}
	}
}

// snapshot returns a copy of the entry.
func (r *record) snapshot() pidfile.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entry
	e.Tree = slices.Clone(e.Tree)
	return e
}

func (r *record) writeLocked() {
	if r.reg == nil || r.entry.PID == 0 {
		return
	}
	if err := r.h.Write(&r.entry); err != nil && !r.warned {
		r.warned = true
		r.warn("cannot record the run: %v", err)
	}
}

// finish removes the run from the registry once cleanup is done. With
// sweep, the lock file is left for the watchdog, which scans for the run's
// cookie once the guard is gone, then removes it.
func (r *record) finish(sweep bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reg == nil {
		return
	}
	remove := r.h.Remove
	if sweep {
		remove = r.h.HandOff
	}
	if err := remove(); err != nil {
		r.warn("%v", err)
	}
	r.reg = nil
}
