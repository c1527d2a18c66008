package reaper

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// MinPrefix is the shortest run-id prefix kill takes: every run id is hex,
// so a shorter one (kill 1) names runs by accident.
const MinPrefix = 4

// SessionPrefix is the length of the session-id prefix ps shows; kill takes
// it, or any longer prefix.
const SessionPrefix = 8

// Match finds the one run target names, among the guarded rows: a run id, a
// child pid, a session id, a label, or else a prefix of a run id (MinPrefix
// characters or more) or of a session id (SessionPrefix or more). The first
// of these kinds that matches decides; anything but exactly one run is an
// error, an ambiguous one naming the candidates.
func Match(rows []Row, target string) (Row, error) {
	var found []Row
	try := func(ok func(Row) bool) bool {
		for _, r := range rows {
			if ok(r) {
				found = append(found, r)
			}
		}
		return len(found) > 0
	}
	pid, perr := strconv.Atoi(target)
	_ = target != "" && (try(func(r Row) bool { return r.RunID == target }) ||
		(perr == nil && pid > 0 && try(func(r Row) bool { return r.PID == pid })) ||
		try(func(r Row) bool { return r.SessionID != "" && r.SessionID == target }) ||
		try(func(r Row) bool { return r.Label != "" && r.Label == target }) ||
		try(func(r Row) bool {
			return len(target) >= MinPrefix && strings.HasPrefix(r.RunID, target) ||
				len(target) >= SessionPrefix && r.SessionID != "" && strings.HasPrefix(r.SessionID, target)
		}))
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		for _, r := range rows {
			if target != "" && len(target) < MinPrefix && strings.HasPrefix(r.RunID, target) {
				return Row{}, fmt.Errorf("no guarded run matches %q: a run-id prefix needs at least %d characters (see claude-guard ps)", target, MinPrefix)
			}
		}
		return Row{}, fmt.Errorf("no guarded run matches %q (see claude-guard ps)", target)
	}
	var names []string
	for _, r := range found {
		names = append(names, fmt.Sprintf("%s (pid %d, label %q, session %s)", r.RunID, r.PID, r.Label, r.SessionID))
	}
	return Row{}, fmt.Errorf("%q is ambiguous, it matches %d runs:\n  %s", target, len(found), strings.Join(names, "\n  "))
}

// Kill ends the runs targets name (every run with all): sig to the whole
// tree, SIGKILL after grace. The owning guard of a live run then exits as its
// child did. Targets are all resolved first: one bad target, nothing
// signalled.
func Kill(reg *pidfile.Registry, targets []string, all bool, sig syscall.Signal, grace time.Duration) ([]Result, error) {
	rows, _ := Rows(reg, false)
	var pick []Row
	if all {
		// claude's daemon is shared by every client of its configuration:
		// ended only when named (kill daemon)
		for _, r := range rows {
			if r.Kind != pidfile.KindDaemon {
				pick = append(pick, r)
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range targets {
		r, err := Match(rows, t)
		if err != nil {
			return nil, err
		}
		if !seen[r.RunID] {
			seen[r.RunID] = true
			pick = append(pick, r)
		}
	}
	var out []Result
	var errs []error
	for _, r := range pick {
		e, err := reg.Read(r.RunID)
		if errors.Is(err, pidfile.ErrGone) {
			continue // ended meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var res Result
		if e.Kind == pidfile.KindDaemon {
			res = EndDaemon(e, sig, grace)
			res.Why = "kill: claude's daemon of " + e.ConfigDir + ", by request"
		} else {
			res = End(e, sig, grace)
			res.Why = "kill"
		}
		audit(reg, pidfile.EventKill, sig, res)
		out = append(out, res)
		if r.State == StateStale {
			if h, err := lockStale(reg, r.RunID); err == nil {
				h.Remove()
			}
		}
	}
	return out, errors.Join(errs...)
}

// Options are what reap is asked to do beyond stale runs.
type Options struct {
	Grace     time.Duration
	DryRun    bool
	OlderThan time.Duration // also end live runs older than this (0: never)
	Unguarded bool          // also end orphaned unguarded claude trees
	Daemon    bool          // also end claude's background daemons and all they run
}

// Reap reaps stale runs, and what opts adds.
func Reap(reg *pidfile.Registry, opts Options) ([]Result, []error) {
	out, errs := ReapStale(reg, opts.Grace, opts.DryRun)
	if opts.OlderThan > 0 {
		rows, _ := Rows(reg, false)
		for _, r := range rows {
			if r.State != StateRunning || r.Kind == pidfile.KindDaemon || time.Since(r.StartedAt) < opts.OlderThan {
				continue
			}
			e, err := reg.Read(r.RunID)
			if err != nil {
				continue
			}
			why := "older than " + opts.OlderThan.String()
			if opts.DryRun {
				out = append(out, Result{RunID: r.RunID, SessionID: r.SessionID, Label: r.Label, Why: why, DryRun: true, Termed: ids(r.members)})
				continue
			}
			res := End(e, syscall.SIGTERM, opts.Grace)
			res.Why = why
			audit(reg, pidfile.EventReap, syscall.SIGTERM, res)
			out = append(out, res)
		}
	}
	if opts.Daemon {
		out = append(out, reapDaemons(reg, opts)...)
	}
	if opts.Unguarded {
		snap, err := TakeSnapshot()
		if err != nil {
			return out, append(errs, err)
		}
		for _, t := range unguarded(snap) {
			if t.State != StateOrphaned {
				continue
			}
			res := Result{SessionID: t.SessionID, Why: "orphaned unguarded claude tree", DryRun: opts.DryRun}
			if opts.DryRun {
				res.Termed = ids(t.members)
			} else {
				members := ids(t.members)
				rep := killtree.End(func() []killtree.ID { return members }, syscall.SIGTERM, opts.Grace)
				res.Termed, res.Killed, res.Left = rep.Termed, rep.Killed, rep.Left
				audit(reg, pidfile.EventReap, syscall.SIGTERM, res)
			}
			out = append(out, res)
		}
	}
	return out, errs
}
