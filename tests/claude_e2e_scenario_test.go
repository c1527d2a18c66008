//go:build linux

package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// ceScenario is one guarded run's private world.
type ceScenario struct {
	t        *testing.T
	guard    string
	env      []string
	home     string // HOME
	cfgDir   string // CLAUDE_CONFIG_DIR
	registry string // CLAUDE_GUARD_HOME
	marker   string
	mu       sync.Mutex
	runIDs   []string // run ids seen in this scenario's registry
}

func ceNewScenario(t *testing.T, guard string) *ceScenario {
	t.Helper()
	s := &ceScenario{t: t, guard: guard}
	s.registry = filepath.Join(t.TempDir(), "registry")
	s.marker = filepath.Join(t.TempDir(), fmt.Sprintf("ce-marker-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.WriteFile(s.marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cleanup)
	return s
}

// mock starts the scenario's mock API and the environment that points at it:
// claudeEnv's fresh HOME and CLAUDE_CONFIG_DIR, and the private registry.
func (s *ceScenario) mock(turns ...mockapi.Turn) *mockapi.Server {
	srv := mockapi.Start(s.t, turns...)
	s.env = append(claudeEnv(s.t, srv.URL()), "CLAUDE_GUARD_HOME="+s.registry)
	s.home = rcEnvGet(s.env, "HOME")
	s.cfgDir = rcEnvGet(s.env, "CLAUDE_CONFIG_DIR")
	return srv
}

// cleanup kills what is provably this scenario's and still alive: marker
// processes, carriers of its runs' cookies, and its watchdog (its argv names
// the scenario's registry).
func (s *ceScenario) cleanup() {
	var pids []int
	pids = append(pids, rcFindMarked(s.marker)...)
	pids = append(pids, rcFindMarked(s.registry)...)
	s.mu.Lock()
	for _, id := range s.runIDs {
		pids = append(pids, ceCookieProcs(id)...)
	}
	s.mu.Unlock()
	seen := map[int]bool{}
	for _, pid := range pids {
		if pid > 1 && pid != os.Getpid() && !seen[pid] {
			seen[pid] = true
			s.t.Logf("cleanup: killing leftover %s", ceDescribe(pid))
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// ceRow is what the tests read of `claude-guard ps --json`.
type ceRow struct {
	RunID     string `json:"run_id"`
	State     string `json:"state"`
	PID       int    `json:"pid"`
	GuardPID  int    `json:"guard_pid"`
	SessionID string `json:"session_id"`
	Processes int    `json:"processes"`
}

func (s *ceScenario) ps() []ceRow {
	s.t.Helper()
	cmd := exec.Command(s.guard, "ps", "--json")
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("claude-guard ps --json: %v\n%s", err, stderr.Bytes())
	}
	var rows []ceRow
	if err := json.Unmarshal(out, &rows); err != nil {
		s.t.Fatalf("claude-guard ps --json: %v\n%s", err, out)
	}
	s.mu.Lock()
	for _, r := range rows {
		known := false
		for _, id := range s.runIDs {
			known = known || id == r.RunID
		}
		if !known && r.RunID != "" {
			s.runIDs = append(s.runIDs, r.RunID)
		}
	}
	s.mu.Unlock()
	return rows
}

// waitRun polls ps --json until the scenario's one run satisfies ok.
func (s *ceScenario) waitRun(ok func(ceRow) bool) ceRow {
	s.t.Helper()
	var rows []ceRow
	if rcWaitFor(s.t, 15*time.Second, func() bool {
		rows = s.ps()
		return len(rows) == 1 && ok(rows[0])
	}) {
		return rows[0]
	}
	s.t.Fatalf("ps --json never showed the run as wanted; last: %+v", rows)
	return ceRow{}
}

// left lists the live (non-zombie) processes of the scenario: marker
// carriers and carriers of its runs' cookies.
func (s *ceScenario) left() []string {
	seen := map[int]bool{}
	var out []string
	add := func(pid int, why string) {
		if !seen[pid] {
			seen[pid] = true
			out = append(out, why+" "+ceDescribe(pid))
		}
	}
	for _, pid := range rcFindMarked(s.marker) {
		add(pid, "marker")
	}
	s.mu.Lock()
	ids := append([]string(nil), s.runIDs...)
	s.mu.Unlock()
	for _, id := range ids {
		for _, pid := range ceCookieProcs(id) {
			add(pid, "cookie")
		}
	}
	return out
}

// checkWatchdogGone: the watchdog (argv names the registry) ends soon after
// the guard.
func (s *ceScenario) checkWatchdogGone() {
	s.t.Helper()
	if !rcWaitFor(s.t, 5*time.Second, func() bool { return len(rcFindMarked(s.registry)) == 0 }) {
		var ds []string
		for _, pid := range rcFindMarked(s.registry) {
			ds = append(ds, ceDescribe(pid))
		}
		s.t.Errorf("watchdog still running 5 s after the guard exited: %v", ds)
	}
}

// ceGuarded is a guard run over pipes.
type ceGuarded struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *rcLockedBuffer
	stderr *rcLockedBuffer
	done   chan struct{}
	err    error
}

func (s *ceScenario) start(stdin io.Reader, argv ...string) *ceGuarded {
	s.t.Helper()
	cmd := exec.Command(s.guard, argv...)
	cmd.Env = s.env
	cmd.Dir = s.t.TempDir()
	cmd.Stdin = stdin
	g := &ceGuarded{t: s.t, cmd: cmd, stdout: &rcLockedBuffer{}, stderr: &rcLockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = g.stdout, g.stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { g.err = cmd.Wait(); close(g.done) }()
	s.t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			cmd.Process.Kill() // the guard is our child
			<-g.done
		}
	})
	return g
}

func (g *ceGuarded) wait(timeout time.Duration) error {
	g.t.Helper()
	select {
	case <-g.done:
		return g.err
	case <-time.After(timeout):
		g.t.Fatalf("guard still running after %v; stderr %q", timeout, g.stderr.Bytes())
		return nil
	}
}

// ceDirectRun is a finished run of claude without the guard.
type ceDirectRun struct {
	*rcPrintResult
	cwd, home string
}

func ceDirect(t *testing.T, claude string, srv *mockapi.Server, args ...string) ceDirectRun {
	t.Helper()
	env := claudeEnv(t, srv.URL())
	cmd, out := rcStartPrint(t, claude, env, args...)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("direct claude: %v", err)
	}
	return ceDirectRun{rcParse(t, out.Bytes(), cmd.Process.Pid, err), cmd.Dir, rcEnvGet(env, "HOME")}
}

// ceHold returns a channel for mockapi.Turn.Held, closed at the latest when
// the test ends.
func ceHold(t *testing.T) chan struct{} {
	ch := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-ch:
		default:
			close(ch)
		}
	})
	return ch
}

// ceInitLine returns claude's init line from stream-json output, or "".
func ceInitLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, `{"type":"system","subtype":"init"`) && json.Valid([]byte(l)) {
			return l
		}
	}
	return ""
}

var ceUUIDs = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// ceTimings matches the fields of stream-json output that vary from run to run.
var ceTimings = regexp.MustCompile(`"([A-Za-z_]*(?:_ms|Ms|_usd|USD)|request_id|id|timestamp)":("[^"]*"|[0-9.e+-]+)`)

var ceSock = regexp.MustCompile(`/cc-socks/[0-9]+\.sock"`)

// ceNormInit replaces what differs between two runs of the same command in
// an init line: uuids, the working directory (also in the project-directory
// form claude derives from it), HOME, and claude's pid in its socket path.
func ceNormInit(line, cwd, home string) string {
	if real, err := filepath.EvalSymlinks(cwd); err == nil {
		cwd = real
	}
	line = strings.ReplaceAll(line, cwd, "<cwd>")
	line = strings.ReplaceAll(line, home, "<home>")
	encoded := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, cwd)
	line = strings.ReplaceAll(line, encoded, "<cwd-encoded>")
	line = ceSock.ReplaceAllString(line, `/cc-socks/<pid>.sock"`)
	return ceUUIDs.ReplaceAllString(line, "<uuid>")
}

func ceJSONField(line, key string) string {
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// ceCookieProcs returns the live processes (zombies excluded) whose
// environment carries runID in CLAUDE_GUARD_RUN.
func ceCookieProcs(runID string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if ceHasCookie(pid, runID) {
			if st, err := readStat(pid); err == nil && st.state != "Z" {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func ceHasCookie(pid int, runID string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "CLAUDE_GUARD_RUN="); ok {
			for _, id := range strings.Split(v, ":") {
				if id == runID {
					return true
				}
			}
		}
	}
	return false
}

// ceDescribe is pid, state, parent, group, session and argv, for reports.
func ceDescribe(pid int) string {
	st, err := readStat(pid)
	if err != nil {
		return fmt.Sprintf("%d (gone)", pid)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	argv := strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
	if len(argv) > 160 {
		argv = argv[:160] + "…"
	}
	return fmt.Sprintf("%d[%s ppid=%d pgid=%d sid=%d %q]", pid, st.state, st.ppid, st.pgid, st.sid, argv)
}

// ceStatus describes how a command ended.
func ceStatus(cmd *exec.Cmd, err error) string {
	if cmd.ProcessState == nil {
		return fmt.Sprintf("not ended (%v)", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
		case ws.Exited():
			return "exit " + strconv.Itoa(ws.ExitStatus())
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return cmd.ProcessState.String()
}
