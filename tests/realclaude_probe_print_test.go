//go:build linux

package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// rcProbeVersion: claude -v answers on stdout without touching HOME or the network, the
// same through the guard. The Python Agent SDK gives `-v` 2 s: what the
// guard adds is measured against claude alone in the same run, runs
// interleaved, so a loaded machine slows both alike.
func rcProbeVersion(t *testing.T, bin string) {
	env := append(claudeEnv(t, "http://127.0.0.1:9"), // never contacted
		"CLAUDE_GUARD_HOME="+t.TempDir(), "CLAUDE_GUARD_CLAUDE="+bin)
	direct := func() *exec.Cmd { return exec.Command(bin, "-v") }
	guarded := func() *exec.Cmd { return exec.Command(guardBinary(t), "claude", "-v") }
	const n = 5
	var took [2][]time.Duration
	for i := 0; i < n; i++ {
		for k, mk := range []func() *exec.Cmd{direct, guarded} {
			cmd := mk()
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.Bytes())
			}
			took[k] = append(took[k], time.Since(start))
			if got, want := stdout.String(), rcClaudeVersion+" (Claude Code)\n"; got != want {
				t.Errorf("%v stdout = %q, want %q", cmd.Args, got, want)
			}
			if stderr.Len() != 0 {
				t.Errorf("%v stderr = %q, want empty", cmd.Args, stderr.Bytes())
			}
		}
	}
	d, g := median(took[0]), median(took[1])
	t.Logf("claude -v: median %v alone, %v guarded (x%.2f, +%v) over %d runs each", d, g, float64(g)/float64(d), g-d, n)
	// The guard's part (~5 ms) is the difference: it must leave most of
	// the SDK's 2 s to claude, whatever claude itself takes here.
	if g-d > time.Second {
		t.Errorf("the guard adds %v to claude -v (median %v guarded, %v alone), want well under the SDK's 2 s", g-d, g, d)
	}
}

// rcProbePrintInit: -p with stream-json: exits 0; an init line carries the session id.
func rcProbePrintInit(t *testing.T, bin string) {
	srv := mockapi.Start(t, mockapi.Text("hello from the mock"))
	start := time.Now()
	res := rcRunPrint(t, bin, srv, nil, "-p", "hi", "--output-format", "stream-json", "--verbose")
	took := time.Since(start)
	if res.err != nil {
		t.Fatalf("claude -p: %v\nstderr:\n%s", res.err, res.stderr)
	}
	init := res.initLine(t)
	keys := rcTopKeys(t, init)
	t.Logf("init line key order: %s", strings.Join(keys, ","))
	// Key order of 2.1.328: type, subtype, cwd, session_id, tools, mcp_servers, model, ...
	if len(keys) < 4 || strings.Join(keys[:4], ",") != "type,subtype,cwd,session_id" {
		t.Errorf("init keys start %v, want type,subtype,cwd,session_id", keys)
	}
	var m struct {
		SessionID string `json:"session_id"`
		Cwd       string `json:"cwd"`
		Version   string `json:"claude_code_version"`
	}
	json.Unmarshal([]byte(init), &m)
	if !rcUUID.MatchString(m.SessionID) {
		t.Errorf("session_id %q is not a UUID", m.SessionID)
	}
	if m.Version != rcClaudeVersion {
		t.Errorf("claude_code_version = %q, want %s", m.Version, rcClaudeVersion)
	}
	if !strings.HasPrefix(res.lines[0], `{"type":"system","subtype":"init",`) {
		t.Errorf("first line is not the init line: %.200s", res.lines[0])
	}
	last := res.lines[len(res.lines)-1]
	if !strings.Contains(last, `"type":"result"`) || !strings.Contains(last, `"result":"hello from the mock"`) {
		t.Errorf("last line is not the result: %.300s", last)
	}
	// Each API request carries the session id in a header.
	for _, r := range srv.Log() {
		if r.Path == "/v1/messages" && r.Header.Get("X-Claude-Code-Session-Id") != m.SessionID {
			t.Errorf("request X-Claude-Code-Session-Id = %q, want %q", r.Header.Get("X-Claude-Code-Session-Id"), m.SessionID)
		}
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("main-loop requests = %d, want 1", n)
	}
	rcLogRequests(t, srv)
	t.Logf("claude -p hi: %d lines, %v", len(res.lines), took)
}

// rcProbeBashBackgroundSurvives: A background process started through the Bash tool outlives claude.
func rcProbeBashBackgroundSurvives(t *testing.T, bin string) {
	// tail takes extra file operands, so a unique file path in its argv is
	// a marker that finds it in /proc later, and nothing else.
	marker := filepath.Join(t.TempDir(), fmt.Sprintf("rc-marker-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcKillMarked(t, marker) })
	srv := mockapi.Start(t, mockapi.Bash("tail -f /dev/null "+marker+" & echo started"), mockapi.Text("done"))
	res := rcRunPrint(t, bin, srv, nil, "-p", "start it", "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash")
	if res.err != nil {
		t.Fatalf("claude: %v\nstderr:\n%s", res.err, res.stderr)
	}
	if n := srv.Requests(); n != 2 {
		t.Fatalf("main-loop requests = %d, want 2 (tool_use, then tool_result)", n)
	}
	if body := string(srv.Log()[len(srv.Log())-1].Body); !strings.Contains(body, "started") {
		t.Errorf("tool_result does not contain the command's output %q", "started")
	}
	pids := rcFindMarked(marker)
	if len(pids) != 1 {
		t.Fatalf("processes with the marker after claude exited: %v, want exactly 1 (the background tail)", pids)
	}
	pid := pids[0]
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := readStat(os.Getpid())
	t.Logf("survivor pid %d: state %s ppid %d pgid %d sid %d (test process: pgid %d sid %d; claude was pid %d)",
		pid, st.state, st.ppid, st.pgid, st.sid, self.pgid, self.sid, res.pid)
	if st.sid == self.sid {
		t.Errorf("survivor is in claude's session %d; want a session of its own (the Bash tool calls setsid)", st.sid)
	}
	if st.pgid == self.pgid {
		t.Errorf("survivor is in claude's process group %d", st.pgid)
	}
	if st.ppid == res.pid {
		t.Errorf("survivor's parent is still claude %d", st.ppid)
	}
	// The survivor's session leader is the Bash tool's shell (already gone).
	if st.sid == pid {
		t.Logf("survivor leads its own session")
	} else if _, err := os.Stat(fmt.Sprintf("/proc/%d", st.sid)); err == nil {
		t.Logf("survivor's session leader %d is still alive", st.sid)
	}
	// Variables claude adds to tool processes' environment.
	env := rcEnviron(t, pid)
	if env["CLAUDE_PID"] != strconv.Itoa(res.pid) {
		t.Errorf("CLAUDE_PID = %q, want claude's pid %d", env["CLAUDE_PID"], res.pid)
	}
	if sid := res.sessionID(t); env["CLAUDE_CODE_SESSION_ID"] != sid {
		t.Errorf("CLAUDE_CODE_SESSION_ID = %q, want the init line's session_id %q", env["CLAUDE_CODE_SESSION_ID"], sid)
	}
	if env["CLAUDECODE"] != "1" {
		t.Errorf("CLAUDECODE = %q, want 1", env["CLAUDECODE"])
	}
	if env["ANTHROPIC_BASE_URL"] != srv.URL() {
		t.Errorf("tool process did not inherit claude's environment: ANTHROPIC_BASE_URL = %q", env["ANTHROPIC_BASE_URL"])
	}
	var added []string
	for k, v := range env {
		if strings.HasPrefix(k, "CLAUDE") || k == "AI_AGENT" || k == "GIT_EDITOR" || k == "SHELL" || k == "COREPACK_ENABLE_AUTO_PIN" {
			added = append(added, k+"="+v)
		}
	}
	t.Logf("tool process env (CLAUDE*, etc.): %v", rcSorted(added))
	rcKillMarked(t, marker)
	if !rcWaitFor(t, 10*time.Second, func() bool { return len(rcFindMarked(marker)) == 0 }) {
		t.Errorf("survivor %d still alive after SIGKILL", pid)
	}
}

// rcProbeSessionsFile: $CLAUDE_CONFIG_DIR/sessions/<pid>.json exists while claude runs.
func rcProbeSessionsFile(t *testing.T, bin string) {
	hold := make(chan struct{})
	srv := mockapi.Start(t, mockapi.Text("released").Held(hold))
	env := claudeEnv(t, srv.URL())
	cfg := rcEnvGet(env, "CLAUDE_CONFIG_DIR")
	cmd, out := rcStartPrint(t, bin, env, "-p", "hold on", "--output-format", "stream-json", "--verbose")
	srv.WaitArrived(1, rcTimeout)
	pid := cmd.Process.Pid
	path := filepath.Join(cfg, "sessions", strconv.Itoa(pid)+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		close(hold)
		t.Fatalf("while claude runs: %v", err)
	}
	t.Logf("%s:\n%s", path, data)
	keys := rcTopKeys(t, string(data))
	t.Logf("sessions file key order: %s", strings.Join(keys, ","))
	var sf struct {
		Pid       int    `json:"pid"`
		SessionID string `json:"sessionId"`
		Cwd       string `json:"cwd"`
		ProcStart string `json:"procStart"`
		PidDomain string `json:"pidDomain"`
		Status    string `json:"status"`
		Version   string `json:"version"`
	}
	if err := json.Unmarshal(data, &sf); err != nil {
		close(hold)
		t.Fatalf("sessions file: %v (types changed?)", err)
	}
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if sf.Pid != pid {
		t.Errorf("pid = %d, want %d", sf.Pid, pid)
	}
	if sf.ProcStart != strconv.FormatUint(st.start, 10) {
		t.Errorf("procStart = %q, want field 22 of /proc/%d/stat = %d", sf.ProcStart, pid, st.start)
	}
	if sf.Cwd != cmd.Dir {
		t.Errorf("cwd = %q, want %q", sf.Cwd, cmd.Dir)
	}
	// pidDomain = "linux:<machine-id>:pid:[<pid namespace inode>]".
	pidns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	mid, _ := os.ReadFile("/etc/machine-id")
	if want := "linux:" + strings.TrimSpace(string(mid)) + ":" + pidns; len(mid) > 0 && sf.PidDomain != want {
		t.Errorf("pidDomain = %v, want %q", sf.PidDomain, want)
	}
	if sf.Status != "busy" {
		t.Errorf("status while a request is in flight = %v, want busy", sf.Status)
	}
	if sf.Version != rcClaudeVersion {
		t.Errorf("version = %q, want %s", sf.Version, rcClaudeVersion)
	}
	if h := srv.Log()[0].Header.Get("X-Claude-Code-Session-Id"); sf.SessionID != h {
		t.Errorf("sessionId = %q, want the session id claude sends, %q", sf.SessionID, h)
	}
	close(hold)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("claude: %v", err)
	}
	res := rcParse(t, out.Bytes(), pid, nil)
	if sid := res.sessionID(t); sid != sf.SessionID {
		t.Errorf("sessionId %q != init session_id %q", sf.SessionID, sid)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after a normal exit %s: %v, want it removed", path, err)
	} else {
		t.Logf("claude removes %s on a normal exit", path)
	}
}
