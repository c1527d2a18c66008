//go:build linux

package tests

// claude's background sessions and their supervisor daemon through the
// guard, with the real claude and the mock API: the daemon is taken out of
// the run that started it, recorded as an entry of its own, and what it
// leaves is ended when it ends.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// dmScenario is one claude configuration with its own daemon, registry and
// marker. Cleanup stops the daemon (claude daemon stop --any, under this
// configuration only) and kills the processes the test saw in its tree.
type dmScenario struct {
	t        *testing.T
	guard    string
	claude   string
	env      []string
	cfgDir   string
	registry string
	marker   string
	dir      string // working directory of the clients
	mu       sync.Mutex
	seen     map[int]uint64 // pid -> start ticks of every process seen in the daemon's tree
}

// The mock's first turn has the session's Bash tool leave `tail -f
// /dev/null MARKER` running; every later request gets text.
func dmNewScenario(t *testing.T) *dmScenario {
	t.Helper()
	s := &dmScenario{t: t, guard: guardBinary(t), claude: realClaude(t), seen: map[int]uint64{}}
	s.marker = fmt.Sprintf("dm-marker-%d-%d", os.Getpid(), time.Now().UnixNano())
	// Its output goes to /dev/null: tail -f (coreutils ≥ 8.28) exits by
	// itself once its stdout is a pipe nobody reads, as after the TUI that
	// read it exits.
	srv := mockapi.Start(t, mockapi.Bash("tail -f /dev/null "+s.marker+" >/dev/null 2>&1 & echo started"), mockapi.Text("done"))
	s.registry = filepath.Join(t.TempDir(), "registry")
	s.env = append(claudeEnv(t, srv.URL()), "CLAUDE_GUARD_HOME="+s.registry, "CLAUDE_GUARD_DAEMON_ADOPT=2s",
		"CLAUDE_GUARD_GRACE=500ms")
	s.cfgDir = rcEnvGet(s.env, "CLAUDE_CONFIG_DIR")
	s.dir = t.TempDir()
	claudeTrustDir(t, s.env, s.dir)
	t.Cleanup(s.cleanup)
	return s
}

func (s *dmScenario) cleanup() {
	cmd := exec.Command(s.claude, "daemon", "stop", "--any")
	cmd.Env = s.env
	cmd.Run()
	s.note()
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, start := range s.seen {
		if st, err := readStat(pid); err == nil && st.start == start && st.state != "Z" {
			s.t.Logf("cleanup: killing leftover %s", ceDescribe(pid))
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, pid := range append(rcFindMarked(s.marker), rcFindMarked(s.registry)...) {
		s.t.Logf("cleanup: killing leftover %s", ceDescribe(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// daemon returns the supervisor claude's status file names, if it runs.
func (s *dmScenario) daemon() (pid int, start uint64, ok bool) {
	b, err := os.ReadFile(filepath.Join(s.cfgDir, "daemon.status.json"))
	if err != nil {
		return 0, 0, false
	}
	var st struct {
		PID   int    `json:"supervisorPid"`
		Start string `json:"supervisorProcStart"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0, 0, false
	}
	start, _ = strconv.ParseUint(st.Start, 10, 64)
	if ps, err := readStat(st.PID); err != nil || ps.start != start || ps.state == "Z" {
		return st.PID, start, false
	}
	return st.PID, start, true
}

// tree notes and returns the live processes of the daemon's tree now.
func (s *dmScenario) note() []int {
	pid, _, ok := s.daemon()
	if !ok {
		return nil
	}
	kids := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil && st.state != "Z" {
			kids[st.ppid] = append(kids[st.ppid], p)
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, kids[tree[i]]...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range tree {
		if st, err := readStat(p); err == nil {
			s.seen[p] = st.start
		}
	}
	return tree
}

// bgWorker returns the pid of the worker running session short (from its
// sessions file, kind bg), or 0.
func (s *dmScenario) bgWorker() int {
	files, _ := filepath.Glob(filepath.Join(s.cfgDir, "sessions", "*.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var sf struct {
			PID  int    `json:"pid"`
			Kind string `json:"kind"`
		}
		if json.Unmarshal(b, &sf) == nil && sf.Kind == "bg" && alive(sf.PID) {
			return sf.PID
		}
	}
	return 0
}

// guarded runs claude-guard claude ARGS to its end.
func (s *dmScenario) guarded(args ...string) (string, error) {
	s.t.Helper()
	cmd := exec.Command(s.guard, append([]string{"--", s.claude}, args...)...)
	cmd.Env, cmd.Dir = s.env, s.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if errb.Len() > 0 {
			s.t.Logf("guard stderr: %s", errb.Bytes())
		}
		return out.String(), err
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		s.t.Fatalf("guarded claude %v still running after 90 s; stderr %s", args, errb.Bytes())
	}
	return "", nil
}

// dmRow is what the tests read of ps --json.
type dmRow struct {
	RunID     string `json:"run_id"`
	Kind      string `json:"kind"`
	State     string `json:"state"`
	PID       int    `json:"pid"`
	ConfigDir string `json:"config_dir"`
	Processes int    `json:"processes"`
	Sessions  []struct {
		ID    string `json:"id"`
		Short string `json:"short"`
		State string `json:"state"`
	} `json:"sessions"`
}

func (s *dmScenario) ps() []dmRow {
	s.t.Helper()
	cmd := exec.Command(s.guard, "ps", "--json")
	cmd.Env = s.env
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("ps --json: %v", err)
	}
	var rows []dmRow
	if err := json.Unmarshal(out, &rows); err != nil {
		s.t.Fatalf("ps --json: %v: %s", err, out)
	}
	return rows
}

func (s *dmScenario) daemonRow() (dmRow, bool) {
	for _, r := range s.ps() {
		if r.Kind == "daemon" {
			return r, true
		}
	}
	return dmRow{}, false
}

func (s *dmScenario) audit() string {
	b, _ := os.ReadFile(filepath.Join(s.registry, "audit.log"))
	return string(b)
}

// tool waits for the tool the Bash command left running: the tail itself,
// not the Bash tool's shell around it.
func (s *dmScenario) tool(timeout time.Duration) (tool int) {
	s.t.Helper()
	if !rcWaitFor(s.t, timeout, func() bool {
		s.note()
		for _, pid := range rcFindMarked(s.marker) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.HasPrefix(b, []byte("tail\x00")) {
				tool = pid
			}
		}
		return tool != 0
	}) {
		s.t.Fatalf("the session never ran its tool; ps: %+v", s.ps())
	}
	return tool
}

// startBg starts a background session through the guard whose Bash tool
// leaves `tail -f /dev/null MARKER` running, and waits for that tool.
func (s *dmScenario) startBg() (worker, tool int) {
	s.t.Helper()
	out, err := s.guarded("--bg", "start the tool", "--permission-mode", "default", "--allowedTools=Bash")
	if err != nil || !strings.Contains(out, "backgrounded") {
		s.t.Fatalf("claude-guard claude --bg: %v, stdout %q", err, out)
	}
	tool = s.tool(60 * time.Second)
	if worker = s.bgWorker(); worker == 0 {
		s.t.Fatal("no worker of kind bg in claude's sessions files")
	}
	return worker, tool
}

// TestRealClaudeDaemonOutlivesRuns: a background session started through the
// guard outlives the guard, its watchdog and a later guarded run; ps shows
// the daemon as an entry of its own; `claude daemon stop` leaves nothing.
func TestRealClaudeDaemonOutlivesRuns(t *testing.T) {
	t.Parallel()
	s := dmNewScenario(t)
	worker, tool := s.startBg()
	guardEnded := time.Now()
	daemon, _, _ := s.daemon()

	// ps shows the daemon as an entry of its own, with its session; the
	// --bg run is gone.
	var row dmRow
	if !rcWaitFor(t, 15*time.Second, func() bool {
		var ok bool
		row, ok = s.daemonRow()
		return ok && row.State == "running" && len(row.Sessions) > 0
	}) {
		t.Fatalf("ps --json never showed the daemon with its session: %+v", s.ps())
	}
	if row.PID != daemon || row.ConfigDir != s.cfgDir || row.Processes < 3 {
		t.Errorf("daemon row %+v, want pid %d, config dir %s, its processes", row, daemon, s.cfgDir)
	}
	if rows := s.ps(); len(rows) != 1 {
		t.Errorf("ps --json lists more than the daemon: %+v", rows)
	}
	table := exec.Command(s.guard, "ps")
	table.Env = s.env
	out, _ := table.Output()
	t.Logf("ps:\n%s", out)
	if !strings.Contains(string(out), "[claude daemon]") {
		t.Errorf("ps table does not show the daemon readably:\n%s", out)
	}

	// ps --all, doctor, reap --unguarded beside it: no panic, and nothing
	// of the daemon's is taken for an unguarded claude.
	for _, args := range [][]string{{"ps", "--all", "--json"}, {"doctor"}, {"reap", "--unguarded", "--dry-run"}} {
		cmd := exec.Command(s.guard, args...)
		cmd.Env = s.env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if strings.Contains(errb.String(), "panic") || cmd.ProcessState.ExitCode() > 1 {
			t.Errorf("claude-guard %v: %v\n%s", args, err, errb.Bytes())
		}
		if strings.Contains(out.String(), `"unguarded"`) || strings.Contains(out.String(), "would end") {
			t.Errorf("claude-guard %v takes the daemon's processes for an unguarded claude:\n%s", args, out.Bytes())
		}
	}

	// A later guarded -p run in the same configuration ends; so does the
	// registry's watcher, once idle (1s here). The session, its tool and the
	// daemon stay, for at least 8 s after the first guard exited.
	if out, err := s.guarded("-p", "hello"); err != nil {
		t.Fatalf("guarded -p: %v %q", err, out)
	}
	if !rcWaitFor(t, 10*time.Second, func() bool {
		for _, pid := range rcFindMarked(s.registry) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(b, []byte("__watchdog")) || bytes.Contains(b, []byte("__watcher")) {
				return false
			}
		}
		return true
	}) {
		t.Error("the registry's watcher did not end")
	}
	for time.Since(guardEnded) < 8*time.Second {
		for what, pid := range map[string]int{"daemon": daemon, "session worker": worker, "session's tool": tool} {
			if !alive(pid) {
				rcWaitFor(t, 3*time.Second, func() bool { return strings.Contains(s.audit(), strconv.Itoa(pid)) })
				t.Fatalf("%s %d died %v after the guard that started it exited; audit:\n%s", what, pid,
					time.Since(guardEnded).Round(time.Millisecond), s.audit())
			}
		}
		s.note()
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(s.audit(), strconv.Itoa(daemon)) {
		t.Errorf("the audit log names the daemon while it lives:\n%s", s.audit())
	}

	// claude daemon stop: within 15 s nothing of the tree is left, the
	// tool the session left included, and the entry is gone.
	stop := exec.Command(s.claude, "daemon", "stop", "--any")
	stop.Env = s.env
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("claude daemon stop --any: %v %s", err, out)
	}
	stopped := time.Now()
	if !rcWaitFor(t, 15*time.Second, func() bool { return len(s.left()) == 0 }) {
		t.Fatalf("15 s after claude daemon stop, left: %v", s.left())
	}
	t.Logf("nothing left %v after claude daemon stop", time.Since(stopped).Round(time.Millisecond))
	if !rcWaitFor(t, 5*time.Second, func() bool { _, ok := s.daemonRow(); return !ok }) {
		t.Errorf("daemon entry still listed: %+v", s.ps())
	}
	if a := s.audit(); !strings.Contains(a, `"daemon"`) || !strings.Contains(a, strconv.Itoa(tool)) {
		t.Errorf("the audit log does not record ending the session's tool %d:\n%s", tool, a)
	}
}

// TestRealClaudeDaemonKilled: when the daemon is SIGKILLed, its workers
// (left under init) are given CLAUDE_GUARD_DAEMON_ADOPT for claude's own
// re-adoption, then ended, audited.
func TestRealClaudeDaemonKilled(t *testing.T) {
	t.Parallel()
	s := dmNewScenario(t)
	worker, tool := s.startBg()
	if !rcWaitFor(t, 15*time.Second, func() bool { r, ok := s.daemonRow(); return ok && len(r.Sessions) > 0 }) {
		t.Fatalf("no daemon entry: %+v", s.ps())
	}
	daemon, _, _ := s.daemon()
	s.note()
	syscall.Kill(daemon, syscall.SIGKILL)
	killed := time.Now()
	waitGone(t, daemon)
	workerLeft := alive(worker)
	if !rcWaitFor(t, 15*time.Second, func() bool { return len(s.left()) == 0 }) {
		t.Fatalf("15 s after the daemon was killed, left: %v", s.left())
	}
	if !workerLeft {
		t.Logf("the worker ended with the daemon by itself")
		return
	}
	// the worker (and the tool) were ended by the watcher, after the window
	var ended time.Time
	for _, l := range strings.Split(s.audit(), "\n") {
		var ev struct {
			Time  time.Time `json:"time"`
			Event string    `json:"event"`
			PIDs  []int     `json:"pids"`
			Why   string    `json:"why"`
		}
		if json.Unmarshal([]byte(l), &ev) == nil && ev.Event == "daemon" && strings.Contains(ev.Why, "daemon died") &&
			slices.Contains(ev.PIDs, worker) {
			ended = ev.Time
		}
	}
	if ended.IsZero() {
		t.Fatalf("the audit log does not record ending worker %d:\n%s", worker, s.audit())
	}
	if d := ended.Sub(killed); d < 2*time.Second {
		t.Errorf("worker ended %v after the daemon's death, before the 2 s re-adoption window", d)
	}
	if !strings.Contains(s.audit(), strconv.Itoa(tool)) {
		t.Errorf("the audit log does not record ending the tool %d:\n%s", tool, s.audit())
	}
}

// left lists what of the scenario still runs: every process seen in the
// daemon's tree, the tool, the daemon watcher.
func (s *dmScenario) left() []string {
	var out []string
	s.mu.Lock()
	for pid, start := range s.seen {
		if st, err := readStat(pid); err == nil && st.start == start && st.state != "Z" {
			out = append(out, ceDescribe(pid))
		}
	}
	s.mu.Unlock()
	for _, pid := range append(rcFindMarked(s.marker), rcFindMarked(s.registry)...) {
		out = append(out, ceDescribe(pid))
	}
	return out
}

// TestRealClaudeDaemonTUI: the TUI's "move to background" (←) through the
// guard, in a pseudo-terminal; after ^C ^C the guard exits 0 and the session
// keeps running, as claude promises: the daemon throughout, the session in a
// worker afterwards (claude itself may restart the moved session's worker a
// few seconds after the client left). The tool the foreground session
// started before it moved is ended with the run, or with the daemon where
// claude's records hand it over: either way nothing is left after the daemon
// stops.
func TestRealClaudeDaemonTUI(t *testing.T) {
	t.Parallel()
	s := dmNewScenario(t)
	cmd := exec.Command(s.guard, s.claude, "--allowedTools", "Bash", "--permission-mode", "default")
	cmd.Env, cmd.Dir = s.env, s.dir
	term := rcStartPTY(t, cmd)
	term.WaitAny(ceTimeout, "? for shortcuts")
	term.Send("run it")
	term.WaitText("run it", ceTimeout)
	term.Send("\r")
	term.WaitText("done", ceTimeout)
	tool := s.tool(60 * time.Second)

	term.Send("\x1b[D") // ←
	term.WaitText("moved to the background", ceTimeout)
	if !rcWaitFor(t, 30*time.Second, func() bool {
		s.note()
		r, ok := s.daemonRow()
		return s.bgWorker() != 0 && ok && len(r.Sessions) > 0
	}) {
		t.Fatalf("no background worker and daemon entry after ←: %+v", s.ps())
	}
	daemon, _, _ := s.daemon()

	term.Send("\x03")
	term.WaitAny(ceTimeout, "again", "Ctrl-C", "ctrl+c")
	term.Send("\x03")
	if err := term.Wait(ceTimeout); err != nil {
		t.Errorf("guard after ^C ^C: %s, want exit 0", ceStatus(cmd, err))
	}
	guardEnded := time.Now()
	for time.Since(guardEnded) < 8*time.Second {
		if !alive(daemon) {
			t.Fatalf("the daemon died %v after the guard exited; audit:\n%s",
				time.Since(guardEnded).Round(time.Millisecond), s.audit())
		}
		s.note()
		time.Sleep(100 * time.Millisecond)
	}
	if !rcWaitFor(t, 15*time.Second, func() bool { s.note(); return s.bgWorker() != 0 }) {
		t.Fatalf("the moved session has no worker 8 s after the guard exited; audit:\n%s", s.audit())
	}

	stop := exec.Command(s.claude, "daemon", "stop", "--any")
	stop.Env = s.env
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("claude daemon stop --any: %v %s", err, out)
	}
	if !rcWaitFor(t, 15*time.Second, func() bool { return len(s.left()) == 0 && !alive(tool) }) {
		t.Fatalf("15 s after claude daemon stop, left: %v (tool %d alive: %v)", s.left(), tool, alive(tool))
	}
}
