package reaper

// claude's background daemon (claude 2.1.x): one supervisor per user and
// CLAUDE_CONFIG_DIR, `claude daemon run`, started by the first client of
// `--bg`, `agents`, the TUI's "move to background"… It outlives that client
// on purpose and inherits its environment, run cookie included. It is
// recognised by claude's own $CLAUDE_CONFIG_DIR/daemon.status.json
// (supervisorPid, supervisorProcStart), never by name, and is kept out of
// every run: its processes are never members of one.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// Daemon is claude's background daemon of one configuration directory, as
// found at one moment.
type Daemon struct {
	ConfigDir string
	ID        killtree.ID       // the supervisor
	Procs     []killtree.Proc   // it, its descendants, and the tools of its sessions
	Sessions  []pidfile.Session // from claude's jobs/ and sessions/ files
	sessIDs   map[string]bool
}

// daemonStatus reads the supervisor's identity from claude's status file.
func daemonStatus(cfgDir string) (killtree.ID, bool) {
	b, err := os.ReadFile(filepath.Join(cfgDir, "daemon.status.json"))
	if err != nil || len(b) > 1<<20 {
		return killtree.ID{}, false
	}
	return parseDaemonStatus(b)
}

func parseDaemonStatus(b []byte) (killtree.ID, bool) {
	var st struct {
		PID   int             `json:"supervisorPid"`
		Start json.RawMessage `json:"supervisorProcStart"`
	}
	if json.Unmarshal(b, &st) != nil || st.PID <= 1 {
		return killtree.ID{}, false
	}
	start, err := strconv.ParseUint(strings.Trim(string(st.Start), `"`), 10, 64)
	if err != nil || start == 0 {
		return killtree.ID{}, false
	}
	return killtree.ID{PID: st.PID, Start: start}, true
}

// FindDaemon returns the daemon of cfgDir if one runs now: the process
// claude's status file names, with the start ticks it names, of this user.
func FindDaemon(cfgDir string) (Daemon, bool) {
	s, err := TakeSnapshot()
	if err != nil {
		return Daemon{}, false
	}
	d := s.daemons[cfgDir]
	if d == nil {
		d = s.findDaemon(cfgDir)
	}
	if d == nil {
		return Daemon{}, false
	}
	return *d, true
}

// findDaemons finds the daemons of the caller's claude configuration and of
// every configuration a cookie carrier names: a daemon started by a guarded
// client carries that client's cookie and its CLAUDE_CONFIG_DIR.
func (s *Snapshot) findDaemons(dirs map[string]bool) {
	s.daemons = map[string]*Daemon{}
	s.inDaemon = map[int]bool{}
	if d := ClaudeConfigDir(); d != "" {
		dirs[d] = true
	}
	for dir := range dirs {
		if d := s.findDaemon(dir); d != nil {
			s.daemons[dir] = d
			for _, p := range d.Procs {
				s.inDaemon[p.PID] = true
			}
		}
	}
}

// findDaemon finds the daemon of cfgDir in the snapshot, with its tree.
func (s *Snapshot) findDaemon(cfgDir string) *Daemon {
	id, ok := daemonStatus(cfgDir)
	if !ok {
		return nil
	}
	root, ok := s.byPID[id.PID]
	if !ok || root.Start != id.Start {
		return nil // a status file left by a daemon that is gone
	}
	d := &Daemon{ConfigDir: cfgDir, ID: id}
	d.Procs = s.subtree(root)
	d.readSessions()
	// Tools of its sessions that left its tree (a Bash tool's `cmd &` is
	// reparented to a subreaper or init) are still its own.
	tree := map[int]bool{}
	for _, p := range d.Procs {
		tree[p.PID] = true
	}
	for pid, env := range s.env {
		if !tree[pid] && env[0] == cfgDir && d.sessIDs[env[1]] {
			d.Procs = append(d.Procs, s.subtree(s.byPID[pid])...)
		}
	}
	d.Procs = dedupe(d.Procs)
	return d
}

// subtree is p and its descendants in the snapshot.
func (s *Snapshot) subtree(p killtree.Proc) []killtree.Proc {
	if s.kids == nil {
		s.kids = map[int][]killtree.Proc{}
		for _, q := range s.Procs {
			s.kids[q.PPID] = append(s.kids[q.PPID], q)
		}
	}
	out := []killtree.Proc{p}
	seen := map[int]bool{p.PID: true}
	for i := 0; i < len(out); i++ {
		for _, k := range s.kids[out[i].PID] {
			if !seen[k.PID] && k.Start >= p.Start {
				seen[k.PID] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// readSessions reads the daemon's sessions from claude's files: jobs/<short>/
// state.json (id, state) and sessions/<pid>.json of its workers (pid).
func (d *Daemon) readSessions() {
	d.sessIDs = map[string]bool{}
	byID := map[string]*pidfile.Session{}
	jobs, _ := filepath.Glob(filepath.Join(d.ConfigDir, "jobs", "*", "state.json"))
	for _, f := range jobs {
		if ss, ok := readJob(f); ok {
			d.Sessions = append(d.Sessions, ss)
		}
	}
	for i := range d.Sessions {
		byID[d.Sessions[i].ID] = &d.Sessions[i]
	}
	for _, p := range d.Procs {
		f := filepath.Join(d.ConfigDir, "sessions", strconv.Itoa(p.PID)+".json")
		if id := ReadSessionsFile(f, p.PID, p.Start); id != "" {
			if ss := byID[id]; ss != nil {
				ss.PID = p.PID
			} else {
				d.Sessions = append(d.Sessions, pidfile.Session{ID: id, PID: p.PID})
				byID[id] = &d.Sessions[len(d.Sessions)-1]
			}
		}
	}
	// A session moved to the background (the TUI's ←, "Move to background
	// and exit") may run in a worker that resumes the foreground session
	// (--fork-session --resume <its transcript>): then the tools that
	// session left running are handed over with it, and recorded so.
	for _, p := range d.Procs {
		args := killtree.Cmdline(p.PID)
		for i, a := range args {
			v, ok := strings.CutPrefix(a, "--resume=")
			if a == "--resume" && i+1 < len(args) {
				v, ok = args[i+1], true
			}
			if ok {
				for _, id := range uuidRE().FindAllString(v, -1) {
					if byID[id] == nil {
						d.Sessions = append(d.Sessions, pidfile.Session{ID: id, State: "handed over"})
						byID[id] = &d.Sessions[len(d.Sessions)-1]
					}
				}
			}
		}
	}
	sort.Slice(d.Sessions, func(i, j int) bool { return d.Sessions[i].ID < d.Sessions[j].ID })
	for _, ss := range d.Sessions {
		d.sessIDs[ss.ID] = true
	}
}

// uuidRE is compiled on first use, not at every start of every guard.
var uuidRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
})

// daemonMembers is what is left of a daemon entry: the daemon's tree while
// the recorded daemon runs, the members of its own cgroup, and whatever of
// the recorded tree still runs, with the tools of its recorded sessions.
func (s *Snapshot) daemonMembers(e pidfile.Entry) []killtree.Proc {
	var out []killtree.Proc
	d := s.daemons[e.ConfigDir]
	if d == nil {
		d = s.findDaemon(e.ConfigDir)
	}
	live := d != nil && d.ID.PID == e.PID && d.ID.Start == e.Start
	if live {
		out = append(out, d.Procs...)
	}
	if e.BootID == s.BootID {
		if cg := RunCgroup(e); cg != nil {
			for _, id := range cg.Procs() {
				if p, ok := s.byPID[id.PID]; ok && p.Start == id.Start {
					out = append(out, p)
				}
			}
		}
		for _, t := range append([]pidfile.Proc{{PID: e.PID, Start: e.Start}}, e.Tree...) {
			if p, ok := s.byPID[t.PID]; ok && p.Start == t.Start {
				out = append(out, s.subtree(p)...)
			}
		}
	}
	sess := map[string]bool{}
	for _, ss := range e.Sessions {
		sess[ss.ID] = true
	}
	// Tools of its sessions outside its tree: found among the cookie
	// carriers while it lives (ps), among every process once it is gone
	// (what it left is ended: it may have been started unguarded).
	envs := s.env
	if !live {
		envs = s.allEnv()
	}
	for pid, env := range envs {
		if env[0] == e.ConfigDir && sess[env[1]] {
			out = append(out, s.subtree(s.byPID[pid])...)
		}
	}
	self := os.Getpid()
	var mine []killtree.Proc
	for _, p := range dedupe(out) {
		if p.PID > 1 && p.PID != self && !(p.PID == e.GuardPID && p.Start == e.GuardStart) {
			mine = append(mine, p)
		}
	}
	return mine
}

// allEnv reads CLAUDE_CONFIG_DIR and CLAUDE_CODE_SESSION_ID of every
// process of the snapshot (once): a daemon's leftovers may carry no cookie.
func (s *Snapshot) allEnv() map[int][2]string {
	if s.fullEnv == nil {
		s.fullEnv = map[int][2]string{}
		for _, p := range s.Procs {
			if v := killtree.EnvValues(p.PID, "CLAUDE_CONFIG_DIR", "CLAUDE_CODE_SESSION_ID", "HOME"); v[1] != "" {
				s.fullEnv[p.PID] = [2]string{configDirOf(v[0], v[2]), v[1]}
			}
		}
	}
	return s.fullEnv
}

// configDirOf is the claude configuration directory of an environment.
func configDirOf(cfg, home string) string {
	if cfg != "" {
		return cfg
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".claude")
}

// daemonRuns reports whether the daemon recorded in e still runs.
func (s *Snapshot) daemonRuns(e pidfile.Entry) bool {
	p, ok := s.byPID[e.PID]
	return ok && p.Start == e.Start && e.BootID == s.BootID
}

// DaemonNear finds the daemon of cfgDir without a scan of every process:
// its tree, and the tools of its sessions among the descendants of near (a
// guard: a subreaper adopts them). For a guard's every tick; nothing but one
// failed open when there is no daemon.
func DaemonNear(cfgDir string, near int) (Daemon, bool) {
	id, ok := daemonStatus(cfgDir)
	if !ok {
		return Daemon{}, false
	}
	root, err := killtree.Lookup(id.PID)
	if err != nil || root.Start != id.Start || root.Zombie || root.UID != os.Geteuid() {
		return Daemon{}, false
	}
	d := Daemon{ConfigDir: cfgDir, ID: id, Procs: append([]killtree.Proc{root}, killtree.Descendants(root.PID)...)}
	d.readSessions()
	tree := map[int]bool{}
	for _, p := range d.Procs {
		tree[p.PID] = true
	}
	for _, p := range killtree.Descendants(near) {
		if tree[p.PID] {
			continue
		}
		env := killtree.EnvValues(p.PID, "CLAUDE_CONFIG_DIR", "HOME", "CLAUDE_CODE_SESSION_ID")
		if d.sessIDs[env[2]] && configDirOf(env[0], env[1]) == cfgDir {
			d.Procs = append(d.Procs, p)
			tree[p.PID] = true
			for _, q := range killtree.Descendants(p.PID) {
				if !tree[q.PID] {
					tree[q.PID] = true
					d.Procs = append(d.Procs, q)
				}
			}
		}
	}
	return d, true
}

// jobCache keeps what claude's jobs/<short>/state.json files said, by path
// and modification time: a guard looks every tick, and the directory keeps
// the jobs of sessions long gone.
var jobCache = struct {
	sync.Mutex
	m map[string]cachedJob
}{m: map[string]cachedJob{}}

type cachedJob struct {
	mod time.Time
	ss  pidfile.Session
	ok  bool
}

func readJob(path string) (pidfile.Session, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return pidfile.Session{}, false
	}
	jobCache.Lock()
	c, hit := jobCache.m[path]
	jobCache.Unlock()
	if hit && c.mod.Equal(fi.ModTime()) {
		return c.ss, c.ok
	}
	c = cachedJob{mod: fi.ModTime()}
	if b, err := os.ReadFile(path); err == nil && len(b) <= 4<<20 {
		var st struct {
			State     string `json:"state"`
			SessionID string `json:"sessionId"`
			Short     string `json:"daemonShort"`
		}
		if json.Unmarshal(b, &st) == nil && st.SessionID != "" {
			c.ss, c.ok = pidfile.Session{ID: st.SessionID, Short: st.Short, State: st.State}, true
		}
	}
	jobCache.Lock()
	jobCache.m[path] = c
	jobCache.Unlock()
	return c.ss, c.ok
}
