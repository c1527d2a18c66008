//go:build linux

package tests

// TestRealClaudeProbe runs the real, pinned claude (no guard) against
// tests/mockapi and checks the behaviours claude-guard relies on. Each subtest
// doubles as documentation of one fact; run it with -v to see the details.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

const rcTimeout = 60 * time.Second

// median of ds (sorted in place).
func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func TestRealClaudeProbe(t *testing.T) {
	bin := realClaude(t)

	// claude -v answers on stdout without touching HOME or the network, the
	// same through the guard. The Python Agent SDK gives `-v` 2 s: what the
	// guard adds is measured against claude alone in the same run, runs
	// interleaved, so a loaded machine slows both alike.
	t.Run("version", func(t *testing.T) {
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
	})

	// -p with stream-json: exits 0; an init line carries the session id.
	t.Run("print_init", func(t *testing.T) {
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
	})

	// A background process started through the Bash tool outlives claude.
	t.Run("bash_background_survives", func(t *testing.T) {
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
		st, err := rcReadStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		self, _ := rcReadStat(os.Getpid())
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
	})

	// $CLAUDE_CONFIG_DIR/sessions/<pid>.json exists while claude runs.
	t.Run("sessions_file", func(t *testing.T) {
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
		st, err := rcReadStat(pid)
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
	})

	// The interactive TUI, offline, in a pseudo-terminal.
	t.Run("tui", func(t *testing.T) {
		srv := mockapi.Start(t, mockapi.Bash("echo rc-tui-ran"), mockapi.Text("rc all done"))
		env := claudeEnv(t, srv.URL())
		cmd := exec.Command(bin, "--allowedTools", "Bash")
		cmd.Env = env
		cmd.Dir = t.TempDir()
		term := rcStartPTY(t, cmd)
		// 1. Trust dialog; the cursor starts on "No, exit". Down moves it to
		// "Yes, I trust this folder", Enter accepts. The dialog is re-mounted
		// once ~0.1-0.4 s after it first shows, silently (same pixels) unless
		// a key was pressed: then the cursor jumps back to "No, exit" and an
		// Enter sent meanwhile is lost. So: retry until accepted.
		term.WaitText("Enter to confirm · Esc to cancel", rcTimeout)
		for try := 1; ; try++ {
			term.Send("\x1b[B") // Down
			term.WaitText("❯ Yes, I trust this folder", rcTimeout)
			term.Send("\r") // Enter
			if term.WaitAny(rcTimeout, "Claude Code v"+rcClaudeVersion, "❯ No, exit") == 0 {
				t.Logf("trust dialog accepted on try %d", try)
				break
			}
			if try == 5 {
				t.Fatalf("trust dialog: Down, Enter did not accept it after %d tries", try)
			}
		}
		// 2. Main screen; the input box's footer means it takes input.
		term.WaitText("shift+tab to cycle", rcTimeout)
		term.Send("rc run it")
		term.WaitText("rc run it", rcTimeout)
		term.Send("\r")
		// 3. The scripted Bash call runs and its result goes back.
		srv.WaitRequests(2, rcTimeout)
		if body := string(srv.Log()[len(srv.Log())-1].Body); !strings.Contains(body, "rc-tui-ran") {
			t.Errorf("second request lacks the Bash output rc-tui-ran")
		}
		term.WaitText("rc all done", rcTimeout)
		// 4. ^C once arms, ^C again (within ~1 s) exits.
		term.Send("\x03")
		term.WaitText("Press Ctrl-C again to exit", rcTimeout)
		term.Send("\x03")
		err := term.Wait(rcTimeout)
		t.Logf("TUI exit after ^C ^C: %v", err)
		if err != nil {
			t.Errorf("TUI exit status after ^C ^C: %v, want 0", err)
		}
		rcLogRequests(t, srv)
	})

	// With the folder pre-trusted (claudeTrustDir) the TUI skips the dialog.
	t.Run("tui_pretrusted", func(t *testing.T) {
		srv := mockapi.Start(t, mockapi.Text("rc pretrusted reply"))
		env := claudeEnv(t, srv.URL())
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Dir = t.TempDir()
		claudeTrustDir(t, env, cmd.Dir)
		term := rcStartPTY(t, cmd)
		if term.WaitAny(rcTimeout, "shift+tab to cycle", "Yes, I trust this folder") != 0 {
			t.Fatal("trust dialog shown for a pre-trusted folder")
		}
		term.Send("rc hello")
		term.WaitText("rc hello", rcTimeout)
		term.Send("\r")
		term.WaitText("rc pretrusted reply", rcTimeout)
		term.Send("\x03")
		term.WaitText("Press Ctrl-C again to exit", rcTimeout)
		term.Send("\x03")
		if err := term.Wait(rcTimeout); err != nil {
			t.Errorf("TUI exit status after ^C ^C: %v, want 0", err)
		}
	})

	// Closing the terminal (the pty master) hangs claude up: the kernel sends
	// SIGHUP to it (it leads the terminal's session) and it exits.
	t.Run("tui_hangup", func(t *testing.T) {
		srv := mockapi.Start(t)
		env := claudeEnv(t, srv.URL())
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Dir = t.TempDir()
		claudeTrustDir(t, env, cmd.Dir)
		term := rcStartPTY(t, cmd)
		term.WaitText("shift+tab to cycle", rcTimeout)
		start := time.Now()
		term.f.Close()
		err := term.Wait(rcTimeout)
		t.Logf("after the terminal closed, claude exited in %v: %v", time.Since(start), err)
		// 2.1.328 catches the SIGHUP and exits 0.
		if err != nil {
			t.Errorf("claude after hangup: %v, want exit 0", err)
		}
	})

	// An stdio MCP server from --mcp-config: started in -p mode, ended on exit.
	t.Run("mcp_server", func(t *testing.T) { rcProbeMCP(t, bin, "polite") })
	// One that ignores signals and stdin EOF: what does claude escalate to?
	t.Run("mcp_server_stubborn", func(t *testing.T) { rcProbeMCP(t, bin, "stubborn") })
}

func rcProbeMCP(t *testing.T, bin, mode string) {
	dir := t.TempDir()
	log := filepath.Join(dir, "mcp.log")
	marker := fmt.Sprintf("rc-mcp-marker-%d-%d", os.Getpid(), time.Now().UnixNano())
	script := filepath.Join(dir, "mcp.sh")
	if err := os.WriteFile(script, []byte(rcMCPScript), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcKillMarked(t, marker) })
	cfgFile := filepath.Join(dir, "mcp.json")
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"rcprobe": map[string]any{"type": "stdio", "command": "/bin/sh", "args": []string{script, log, mode, marker}},
	}})
	os.WriteFile(cfgFile, cfg, 0o644)
	hold := make(chan struct{})
	srv := mockapi.Start(t, mockapi.Text("released").Held(hold))
	env := claudeEnv(t, srv.URL())
	cmd, out := rcStartPrint(t, bin, env, "-p", "hi", "--output-format", "stream-json", "--verbose", "--mcp-config", cfgFile)
	srv.WaitArrived(1, rcTimeout)
	pids := rcFindMarked(marker)
	if len(pids) != 1 {
		close(hold)
		t.Fatalf("MCP server processes while claude runs: %v, want 1", pids)
	}
	st, _ := rcReadStat(pids[0])
	cst, _ := rcReadStat(cmd.Process.Pid)
	t.Logf("MCP server pid %d: ppid %d pgid %d sid %d (claude pid %d pgid %d sid %d)",
		pids[0], st.ppid, st.pgid, st.sid, cmd.Process.Pid, cst.pgid, cst.sid)
	if st.ppid != cmd.Process.Pid {
		t.Errorf("MCP server's parent = %d, want claude %d", st.ppid, cmd.Process.Pid)
	}
	if st.pgid != cst.pgid || st.sid != cst.sid {
		t.Errorf("MCP server is not in claude's process group and session")
	}
	exitStart := time.Now()
	close(hold)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("claude: %v", err)
	}
	claudeExit := time.Since(exitStart)
	res := rcParse(t, out.Bytes(), cmd.Process.Pid, nil)
	var init struct {
		MCPServers []struct{ Name, Status string } `json:"mcp_servers"`
	}
	json.Unmarshal([]byte(res.initLine(t)), &init)
	if len(init.MCPServers) != 1 || init.MCPServers[0].Name != "rcprobe" || init.MCPServers[0].Status != "connected" {
		t.Errorf("init mcp_servers = %+v, want rcprobe connected", init.MCPServers)
	}
	stillThere := rcFindMarked(marker)
	gone := rcWaitFor(t, 10*time.Second, func() bool { return len(rcFindMarked(marker)) == 0 })
	logData, _ := os.ReadFile(log)
	t.Logf("claude exited %v after release; MCP server alive right after: %v; gone within 10s: %v; its log:\n%s",
		claudeExit, stillThere, gone, logData)
	if !strings.Contains(string(logData), "method=initialize") || !strings.Contains(string(logData), "start") {
		t.Errorf("MCP server log lacks start/initialize:\n%s", logData)
	}
	switch mode {
	case "polite":
		if !gone {
			t.Errorf("MCP server still running after claude exited")
		}
		if !strings.Contains(string(logData), "signal-INT") {
			t.Errorf("MCP server did not get SIGINT")
		}
	case "stubborn":
		// 2.1.328: SIGINT, then stdin closed, then SIGTERM, then SIGKILL,
		// all before claude itself exits (~0.6 s later).
		l := string(logData)
		i, e, k := strings.Index(l, "signal-INT"), strings.Index(l, "stdin-eof"), strings.Index(l, "signal-TERM")
		if i < 0 || k < 0 || k < i {
			t.Errorf("want SIGINT then SIGTERM; log:\n%s", l)
		}
		if e < 0 {
			t.Errorf("claude did not close the MCP server's stdin")
		}
	}
	if len(stillThere) != 0 {
		t.Errorf("MCP server %v outlived claude's exit (mode %s)", stillThere, mode)
	}
}

// rcMCPScript is a minimal stdio MCP server (newline-delimited JSON-RPC) in
// POSIX sh. $1 is a log file, $2 the mode: "polite" exits on SIGINT, SIGTERM,
// SIGHUP or stdin EOF, "stubborn" ignores them all; further arguments are
// markers. It logs the methods it gets, the signals it receives and stdin EOF.
const rcMCPScript = `#!/bin/sh
log=$1 mode=$2
echo "start pid=$$" >> "$log"
for s in TERM INT HUP; do
  if [ "$mode" = stubborn ]; then trap "echo signal-$s >> '$log'" $s
  else trap "echo signal-$s >> '$log'; exit 0" $s; fi
done
while IFS= read -r line; do
  id=$(printf '%s\n' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\|"[^"]*"\).*/\1/p')
  method=$(printf '%s\n' "$line" | sed -n 's/.*"method":"\([^"]*\)".*/\1/p')
  echo "method=$method id=$id" >> "$log"
  case $method in
  initialize)
    pv=$(printf '%s\n' "$line" | sed -n 's/.*"protocolVersion":"\([^"]*\)".*/\1/p')
    printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"%s","capabilities":{"tools":{}},"serverInfo":{"name":"rcprobe","version":"1.0.0"}}}\n' "$id" "${pv:-2024-11-05}";;
  tools/list)
    printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[]}}\n' "$id";;
  *)
    if [ -n "$id" ]; then printf '{"jsonrpc":"2.0","id":%s,"result":{}}\n' "$id"; fi;;
  esac
done
echo "stdin-eof" >> "$log"
if [ "$mode" = stubborn ]; then while :; do sleep 0.2; done; fi
`

var rcUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// rcPrintResult is one finished `claude -p` run.
type rcPrintResult struct {
	pid    int
	err    error
	lines  []string
	stderr []byte
}

func (r *rcPrintResult) initLine(t testing.TB) string {
	t.Helper()
	for _, l := range r.lines {
		if strings.HasPrefix(l, `{"type":"system","subtype":"init"`) {
			return l
		}
	}
	t.Fatalf("no init line in %d lines of output", len(r.lines))
	return ""
}

func (r *rcPrintResult) sessionID(t testing.TB) string {
	t.Helper()
	var m struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(r.initLine(t)), &m); err != nil {
		t.Fatal(err)
	}
	return m.SessionID
}

// rcStartPrint starts claude with args, stdout collected; it is killed at the
// end of the test if still running.
func rcStartPrint(t testing.TB, bin string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &rcLockedBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// rcRunPrint runs claude to completion (env from claudeEnv unless given).
func rcRunPrint(t testing.TB, bin string, srv *mockapi.Server, env []string, args ...string) *rcPrintResult {
	t.Helper()
	if env == nil {
		env = claudeEnv(t, srv.URL())
	}
	cmd, out := rcStartPrint(t, bin, env, args...)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(rcTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("claude %v did not exit within %v", args, rcTimeout)
	}
	return rcParse(t, out.Bytes(), cmd.Process.Pid, err, cmd.Stderr.(*rcLockedBuffer).Bytes())
}

func rcParse(t testing.TB, out []byte, pid int, err error, stderr ...[]byte) *rcPrintResult {
	t.Helper()
	r := &rcPrintResult{pid: pid, err: err}
	if len(stderr) > 0 {
		r.stderr = stderr[0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			if !json.Valid([]byte(l)) {
				t.Errorf("stdout line is not JSON: %.200s", l)
			}
			r.lines = append(r.lines, l)
		}
	}
	if len(r.lines) == 0 && err == nil {
		t.Fatalf("claude printed nothing")
	}
	return r
}

type rcLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *rcLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *rcLockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.b.Bytes()...)
}

// rcTopKeys returns the top-level keys of a JSON object, in order.
func rcTopKeys(t testing.TB, obj string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %.100s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func rcLogRequests(t testing.TB, srv *mockapi.Server) {
	t.Helper()
	for i, r := range srv.Log() {
		t.Logf("request %d: %s %s?%s main=%v turn=%d model=%s", i, r.Method, r.Path, r.Query, r.Main, r.Turn, r.Model)
	}
}

func rcEnvGet(env []string, key string) string {
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func rcSorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// rcStat is what the probe needs of /proc/<pid>/stat.
type rcStat struct {
	state           string
	ppid, pgid, sid int
	start           uint64 // field 22, clock ticks since boot
}

func rcReadStat(pid int) (rcStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return rcStat{}, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return rcStat{}, fmt.Errorf("bad stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return rcStat{}, fmt.Errorf("bad stat %q", s)
	}
	var st rcStat
	st.state = f[0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgid, _ = strconv.Atoi(f[2])
	st.sid, _ = strconv.Atoi(f[3])
	st.start, _ = strconv.ParseUint(f[19], 10, 64)
	return st, nil
}

// rcFindMarked returns the live (non-zombie) processes whose argv contains marker.
func rcFindMarked(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		if st, err := rcReadStat(pid); err != nil || st.state == "Z" {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// rcKillMarked SIGKILLs the processes carrying marker (ours by construction:
// the marker is unique to this test run).
func rcKillMarked(t testing.TB, marker string) {
	for _, pid := range rcFindMarked(marker) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Logf("kill %d: %v", pid, err)
		}
	}
}

func rcEnviron(t testing.TB, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(data), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// rcTerm drives a program in a pseudo-terminal.
type rcTerm struct {
	t       testing.TB
	cmd     *exec.Cmd
	f       *os.File
	mu      sync.Mutex
	out     []byte
	mark    int           // WaitText looks at output after this offset (the last Send)
	changed chan struct{} // closed and replaced on new output
	eof     bool
	exited  chan struct{}
	err     error
}

func rcStartPTY(t testing.TB, cmd *exec.Cmd) *rcTerm {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	p := &rcTerm{t: t, cmd: cmd, f: f, changed: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			if err != nil {
				p.eof = true
			}
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		f.Close()
		if t.Failed() {
			t.Logf("terminal output (ANSI stripped):\n%s", rcScreenText(p.all()))
		}
	})
	return p
}

func (p *rcTerm) all() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.out...)
}

// Send writes s to the terminal; later WaitText calls look only at output
// written after it.
func (p *rcTerm) Send(s string) {
	p.t.Helper()
	p.mu.Lock()
	p.mark = len(p.out)
	p.mu.Unlock()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatalf("write to pty: %v", err)
	}
}

// WaitText waits until text appears in the output (ANSI sequences replaced
// by blanks, blank runs collapsed) written since the last Send.
func (p *rcTerm) WaitText(text string, timeout time.Duration) {
	p.t.Helper()
	p.WaitAny(timeout, text)
}

// WaitAny is WaitText for several texts; it returns the index of the first
// text found.
func (p *rcTerm) WaitAny(timeout time.Duration, texts ...string) int {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		chunk := p.out[p.mark:]
		eof := p.eof
		ch := p.changed
		screen := rcScreenText(chunk)
		for i, text := range texts {
			if strings.Contains(screen, text) {
				p.mu.Unlock()
				return i
			}
		}
		p.mu.Unlock()
		if eof {
			p.t.Fatalf("terminal closed while waiting for %q; recent output:\n%s", texts, screen)
		}
		select {
		case <-ch:
		case <-timer.C:
			p.t.Fatalf("timed out after %v waiting for %q; output since the last input:\n%s", timeout, texts, screen)
		}
	}
}

// Wait waits for the program to exit.
func (p *rcTerm) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("program still running after %v", timeout)
		return nil
	}
}

var rcANSI = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]|[\x00-\x08\x0b-\x1f]`)
var rcBlanks = regexp.MustCompile(`[ \t\r\n]+`)

// rcScreenText turns terminal output into searchable text: escape sequences
// become blanks, runs of blanks become one space.
func rcScreenText(b []byte) string {
	return rcBlanks.ReplaceAllString(rcANSI.ReplaceAllString(string(b), " "), " ")
}
