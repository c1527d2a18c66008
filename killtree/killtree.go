// Package killtree identifies processes by (pid, start ticks, boot id), finds the
// processes that belong to a run, and ends them with a grace period. It knows
// nothing of the registry or of runs' policy: callers say what to look for.
package killtree

import (
	"bytes"
	"errors"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"
)

// ErrGone reports a process that no longer exists (or is a zombie, which
// counts as gone for every purpose here).
var ErrGone = errors.New("killtree: process gone")

// ErrNotOurs reports a process whose identity does not match the one
// recorded, or that belongs to another user. It is never signalled.
var ErrNotOurs = errors.New("killtree: process identity does not match")

// ID names one process for the life of one boot: a pid alone can be reused,
// a pid with its start time cannot.
type ID struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Proc is what the system says about one process.
type Proc struct {
	ID
	PPID   int
	PGID   int
	SID    int
	UID    int
	TTY    int // controlling terminal device, 0 when none
	Zombie bool
	Comm   string
	RSS    uint64 // bytes
}

// BootID returns an identifier of the current boot. Start ticks compared
// across boots mean nothing. It is read once per process: a boot's id does
// not change while the process lives (the watcher asks for it on every
// scan).
func BootID() (string, error) { return bootIDOnce() }

var bootIDOnce = sync.OnceValues(bootID)

// Lookup returns what the system says about pid, or ErrGone.
func Lookup(pid int) (Proc, error) { return lookup(pid) }

// All lists every process visible to the caller.
func All() ([]Proc, error) { return all() }

// Alive reports whether the process id names still runs and is not a zombie.
func Alive(id ID) bool {
	p, err := lookup(id.PID)
	return err == nil && p.Start == id.Start && !p.Zombie
}

// Descendants returns the living descendants of pid, not pid itself,
// following parent links as they are now.
func Descendants(pid int) []Proc {
	var out []Proc
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 {
		kids, err := children(queue[0])
		queue = queue[1:]
		if err != nil {
			continue
		}
		for _, k := range kids {
			if seen[k] {
				continue
			}
			seen[k] = true
			p, err := lookup(k)
			if err != nil || p.Zombie {
				continue
			}
			out = append(out, p)
			queue = append(queue, k)
		}
	}
	return out
}

// Cmdline returns the arguments of pid, or nil.
func Cmdline(pid int) []string { return cmdline(pid) }

// Cwd returns the working directory of pid, or "".
func Cwd(pid int) string { return cwd(pid) }

// EnvValue returns the value of key in the environment of pid.
func EnvValue(pid int, key string) (string, bool) {
	env, err := environ(pid)
	if err != nil {
		return "", false
	}
	return envLookup(env, key)
}

// envLookup finds key in a NUL-separated environment block without
// splitting it: it runs over every process's environment on each scan.
func envLookup(env []byte, key string) (string, bool) {
	for len(env) > 0 {
		kv := env
		if i := bytes.IndexByte(env, 0); i >= 0 {
			kv, env = env[:i], env[i+1:]
		} else {
			env = nil
		}
		if len(kv) > len(key) && kv[len(key)] == '=' && string(kv[:len(key)]) == key {
			return string(kv[len(key)+1:]), true
		}
	}
	return "", false
}

// Signal sends sig to the process id names, only if it still is that process,
// is not a zombie and belongs to the current user. The check and the signal
// go through one pinned reference (a pidfd on Linux, a process handle on
// Windows), so a pid reused in between is never hit.
func Signal(id ID, sig syscall.Signal) error {
	if id.PID <= 1 || id.PID == os.Getpid() {
		return ErrNotOurs
	}
	// Each OS defines pin, which opens the process (and refuses a signal
	// the OS cannot send), and pinned's proc (what the system says of that
	// process; ErrGone once it is gone), send and close.
	t, err := pin(id.PID, sig)
	if err != nil {
		return err
	}
	defer t.close()
	p, err := t.proc()
	switch {
	case err != nil:
		return err
	case p.Zombie:
		return ErrGone
	case p.Start != id.Start || p.UID != os.Geteuid():
		return ErrNotOurs
	}
	return t.send(sig)
}

// Report says what End did.
type Report struct {
	Termed []ID // sent the polite signal
	Killed []ID // sent SIGKILL after the grace period
	Left   []ID // still alive at the end (should be empty)
}

// End ends every process find returns. Each gets sig; those still alive after
// grace, and any that find returns by then, get SIGKILL, until find returns
// nothing alive. find is called again each round, so processes started while
// ending are caught too, and so are the children of every target, seen while
// their parents live (a SIGTERM handler that starts a daemon). Before each
// SIGKILL round the targets are stopped with SIGSTOP and their children
// collected again until no new one appears: a stopped process cannot fork,
// so none is born between the collection and the kill. noStop are never
// stopped (only killed): a guard's own child, whose stop the guard would
// follow by stopping itself. A zero sig skips the polite round.
func End(find func() []ID, sig syscall.Signal, grace time.Duration, noStop ...ID) Report {
	var r Report
	targets := live(find())
	if len(targets) == 0 {
		return r
	}
	if sig != 0 && sig != syscall.SIGKILL {
		for _, id := range targets {
			if Signal(id, sig) == nil {
				r.Termed = append(r.Termed, id)
			}
		}
		if len(r.Termed) > 0 {
			targets = waitGone(targets, time.Now().Add(grace))
		}
	}
	killed := map[ID]bool{}
	for round := 0; round < 20; round++ {
		targets = freeze(live(append(targets, find()...)), noStop)
		if len(targets) == 0 {
			break
		}
		for _, id := range targets {
			if Signal(id, syscall.SIGKILL) == nil && !killed[id] {
				killed[id] = true
				r.Killed = append(r.Killed, id)
			}
		}
		targets = waitGone(targets, time.Now().Add(time.Second))
	}
	r.Left = live(targets)
	return r
}

// freeze stops every target and adds their children, stopping those too,
// until a pass finds no new one.
func freeze(targets []ID, noStop []ID) []ID {
	seen := map[ID]bool{}
	for _, id := range noStop {
		seen[id] = true
	}
	for pass := 0; pass < 100; pass++ {
		n := len(seen)
		for _, id := range targets {
			if !seen[id] && stop(id) == nil {
				seen[id] = true
			}
		}
		targets = withChildren(targets)
		if len(seen) == n {
			break
		}
	}
	return targets
}

// withChildren adds the living children of every target.
func withChildren(targets []ID) []ID {
	out := targets
	for _, id := range targets {
		kids, err := children(id.PID)
		if err != nil || !Alive(id) {
			continue
		}
		for _, k := range kids {
			if p, err := lookup(k); err == nil && !p.Zombie {
				out = append(out, p.ID)
			}
		}
	}
	return live(out)
}

// live drops repeated ids, processes that are gone, and those of other users:
// they are never signalled, so they are never waited for either (a setuid
// program below claude would otherwise hold every cleanup for its whole
// SIGKILL rounds and then be reported as a survivor of a SIGKILL never sent).
func live(ids []ID) []ID {
	seen := map[ID]bool{}
	var out []ID
	uid := os.Geteuid()
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if p, err := lookup(id.PID); err == nil && p.Start == id.Start && !p.Zombie && p.UID == uid {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// waitGone waits until every process is gone or the deadline passes, and
// returns those left. Children the processes start meanwhile join the set:
// what a SIGTERM handler starts on its way out is a target too.
func waitGone(ids []ID, deadline time.Time) []ID {
	pause := time.Millisecond
	for {
		ids = withChildren(ids)
		if len(ids) == 0 || !time.Now().Before(deadline) {
			return ids
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(pause*2, 20*time.Millisecond)
	}
}
