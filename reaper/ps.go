package reaper

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// State is what ps knows of a run or an unguarded tree.
type State string

const (
	StateRunning   State = "running"   // its guard is alive, this boot
	StateStale     State = "stale"     // its guard is gone: reap ends what is left
	StateUnguarded State = "unguarded" // a claude tree no guard launched
	StateOrphaned  State = "orphaned"  // an unguarded tree whose starter is gone (no terminal, parent init)
	StateUnknown   State = "unknown"   // an entry of a newer claude-guard
)

// Row kinds, beside pidfile.KindDaemon (claude's background daemon).
const (
	KindRun       = "run"       // a guarded run
	KindUnguarded = "unguarded" // a claude tree no guard launched
)

// Row is one line of ps: a guarded run, or with --all an unguarded claude
// tree.
type Row struct {
	RunID     string    `json:"run_id"`
	State     State     `json:"state"`
	Kind      string    `json:"kind,omitempty"` // KindRun, pidfile.KindDaemon, KindUnguarded; none when unknown
	PID       int       `json:"pid"`
	GuardPID  int       `json:"guard_pid"`
	PGID      int       `json:"pgid"`
	SessionID string    `json:"session_id"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Cwd       string    `json:"cwd"`
	Argv      []string  `json:"argv"`
	Label     string    `json:"label"`
	Model     string    `json:"model"`
	Processes int       `json:"processes"`
	RSSBytes  uint64    `json:"rss_bytes"`
	// From the run's cgroup, where it has one: CPU time of every process
	// the run ever had, and memory where the memory controller is on.
	Cgroup      string `json:"cgroup,omitempty"`
	CPUUsec     uint64 `json:"cpu_usec,omitempty"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	// claude's daemon only: its configuration directory and sessions
	ConfigDir string            `json:"config_dir,omitempty"`
	Sessions  []pidfile.Session `json:"sessions,omitempty"`
	// Schema is set on an entry of a newer claude-guard (StateUnknown):
	// this one cannot read it, and leaves it to the version that wrote it.
	Schema int `json:"schema,omitempty"`

	members []killtree.Proc
}

// Rows lists the registry's runs, and with all the unguarded claude trees
// too. Bad registry files are reported in errs and never stop the listing.
func Rows(reg *pidfile.Registry, all bool) (rows []Row, errs []error) {
	snap, err := TakeSnapshot()
	if err != nil {
		snap = &Snapshot{}
	}
	runs, errs := reg.List(snap.BootID)
	if err != nil {
		errs = append(errs, err)
	}
	rows = make([]Row, 0, len(runs))
	for _, r := range runs {
		if r.Unknown {
			rows = append(rows, Row{RunID: r.RunID, State: StateUnknown, Schema: r.Schema})
			continue
		}
		if r.PID == 0 {
			continue // only its id is known: starting, or being swept
		}
		row := Row{RunID: r.RunID, Kind: KindRun, State: StateStale, PID: r.PID, GuardPID: r.GuardPID, PGID: r.PGID,
			SessionID: r.SessionID, StartedAt: r.StartedAt, Cwd: r.Cwd, Argv: r.Argv, Label: r.Label, Model: r.Model}
		if (r.Live || r.NoLock && guardAlive(r.Entry, snap.BootID)) && r.BootID == snap.BootID {
			row.State = StateRunning
		}
		if r.Kind == pidfile.KindDaemon {
			row.Kind, row.ConfigDir, row.Sessions = pidfile.KindDaemon, r.ConfigDir, r.Sessions
			if d := snap.daemons[r.ConfigDir]; d != nil && d.ID.PID == r.PID && d.ID.Start == r.Start {
				row.Sessions = d.Sessions // fresher than the record
			}
		}
		row.setMembers(snap.Members(r.Entry))
		if cg := RunCgroup(r.Entry); cg != nil {
			row.Cgroup = cg.Path
			if st, err := cg.Stats(); err == nil {
				row.CPUUsec, row.MemoryBytes = st.CPUUsec, st.MemoryBytes
			}
		}
		rows = append(rows, row)
	}
	if all {
		rows = append(rows, unguarded(snap)...)
	}
	return rows, errs
}

func (r *Row) setMembers(ms []killtree.Proc) {
	r.members = ms
	r.Processes, r.RSSBytes = len(ms), 0
	for _, p := range ms {
		r.RSSBytes += p.RSS
	}
}

// unguarded finds claude trees no guard launched: claude processes named by
// claude's own sessions files (procStart matching), and processes carrying
// CLAUDE_CODE_SESSION_ID but no run cookie, grouped by session.
func unguarded(s *Snapshot) []Row {
	byPID := map[int]killtree.Proc{}
	for _, p := range s.Procs {
		byPID[p.PID] = p
	}
	trees := map[string]*Row{}
	add := func(sess string, p killtree.Proc) {
		if _, guarded := s.cookies[p.PID]; guarded || s.inDaemon[p.PID] {
			return
		}
		t := trees[sess]
		if t == nil {
			t = &Row{Kind: KindUnguarded, SessionID: sess, State: StateUnguarded}
			trees[sess] = t
		}
		for _, m := range t.members {
			if m.ID == p.ID {
				return
			}
		}
		t.members = append(t.members, p)
	}
	if dir := ClaudeConfigDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "sessions", "*.json"))
		for _, f := range files {
			pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".json"))
			p, ok := byPID[pid]
			if err != nil || !ok {
				continue
			}
			if sess := ReadSessionsFile(f, pid, p.Start); sess != "" {
				add(sess, p)
				// add skips a guarded claude: no tree of its own then.
				if t := trees[sess]; t != nil {
					t.PID = pid
				}
			}
		}
	}
	// Tool processes are claude's children by environment: only those of
	// the same claude configuration as ours, as the sessions files are.
	configDir := os.Getenv("CLAUDE_CONFIG_DIR")
	for _, p := range s.Procs {
		if sess, ok := killtree.EnvValue(p.PID, "CLAUDE_CODE_SESSION_ID"); ok && sess != "" {
			if dir, _ := killtree.EnvValue(p.PID, "CLAUDE_CONFIG_DIR"); dir == configDir {
				add(sess, p)
			}
		}
	}
	var out []Row
	for _, t := range trees {
		root := t.members[0]
		if t.PID != 0 {
			root = byPID[t.PID]
			t.Argv, t.Cwd = killtree.Cmdline(t.PID), killtree.Cwd(t.PID)
		}
		t.PGID = root.PGID
		if orphaned(root, byPID) {
			t.State = StateOrphaned
		}
		for _, p := range killtree.Descendants(root.PID) {
			if _, guarded := s.cookies[p.PID]; !guarded && !s.inDaemon[p.PID] {
				t.members = append(t.members, p)
			}
		}
		t.setMembers(dedupe(t.members))
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SessionID < out[j].SessionID })
	return out
}

// orphaned: no terminal, and the parent is init or the user's service
// manager (a subreaper), i.e. whoever started it is gone.
func orphaned(p killtree.Proc, byPID map[int]killtree.Proc) bool {
	if p.TTY != 0 {
		return false
	}
	if p.PPID == 1 {
		return true
	}
	parent, err := killtree.Lookup(p.PPID)
	return err == nil && (parent.Comm == "systemd" || parent.Comm == "init")
}

func dedupe(ps []killtree.Proc) []killtree.Proc {
	seen := map[killtree.ID]bool{}
	var out []killtree.Proc
	for _, p := range ps {
		if !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	return out
}
