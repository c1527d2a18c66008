//go:build linux

package tests

// TestRealClaude runs the real, pinned claude under claude-guard, fully
// offline against tests/mockapi, in the ways clients start it (-p with
// stream-json and plain text, the TUI in a pseudo-terminal, an MCP server,
// the Agent SDK's shim), and checks that nothing of a run outlives it.
//
// Safety: every run has its own CLAUDE_GUARD_HOME, HOME and CLAUDE_CONFIG_DIR.
// Processes are found only by a marker unique to the test (a temp path in
// their argv) or by the run cookie CLAUDE_GUARD_RUN=<run id> where the run id
// comes from the test's own registry; nothing else is ever signalled.

import (
	"bufio"
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

// ceTimeout bounds every wait for claude (start-up, an answer, an exit).
const ceTimeout = 45 * time.Second

func TestRealClaude(t *testing.T) {
	guard := guardBinary(t)
	claude := realClaude(t)

	// Sequential, before the parallel ones start: its timing is measured.
	t.Run("sigkill_watchdog", func(t *testing.T) { ceSignalled(t, guard, claude, syscall.SIGKILL, false) })
	// The blocking command ignores SIGTERM: the watchdog's capped grace (1 s).
	t.Run("sigkill_watchdog_stubborn", func(t *testing.T) { ceSignalled(t, guard, claude, syscall.SIGKILL, true) })

	t.Run("print_stream_json", func(t *testing.T) { t.Parallel(); cePrintStreamJSON(t, guard, claude) })
	t.Run("sigterm", func(t *testing.T) { t.Parallel(); ceSignalled(t, guard, claude, syscall.SIGTERM, false) })
	t.Run("print_text_session", func(t *testing.T) { t.Parallel(); cePrintText(t, guard, claude) })
	t.Run("tui_ctrl_c", func(t *testing.T) { t.Parallel(); ceTUI(t, guard, claude, false) })
	t.Run("tui_hangup", func(t *testing.T) { t.Parallel(); ceTUI(t, guard, claude, true) })
	t.Run("mcp_server", func(t *testing.T) { t.Parallel(); ceMCP(t, guard, claude) })
	t.Run("sdk_shim", func(t *testing.T) { t.Parallel(); ceSDKShim(t, guard, claude) })
}

// 1. -p stream-json: a Bash tool background process (which outlives a bare
// claude) is gone once the guard has exited; stdout is claude's; ps shows
// the init line's session id while the run lives.
func cePrintStreamJSON(t *testing.T, guard, claude string) {
	hold := ceHold(t)
	s := ceNewScenario(t, guard)
	srv := s.mock(mockapi.Bash("tail -f /dev/null "+s.marker+" & echo started"), mockapi.Text("done").Held(hold))
	args := []string{"-p", "start it", "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash"}
	// The same run of claude without the guard, for the init line's shape.
	direct := ceDirect(t, claude, mockapi.Start(t, mockapi.Text("done")), args...)

	g := s.start(nil, append([]string{claude}, args...)...)
	srv.WaitArrived(2, ceTimeout) // the Bash call ran; the final answer is held
	if !rcWaitFor(t, 10*time.Second, func() bool { return len(rcFindMarked(s.marker)) > 0 }) {
		close(hold)
		t.Fatalf("the Bash tool's background tail never appeared")
	}
	row := s.waitRun(func(r ceRow) bool { return r.SessionID != "" })
	var init string
	if !rcWaitFor(t, 10*time.Second, func() bool { init = ceInitLine(g.stdout.Bytes()); return init != "" }) {
		t.Errorf("no init line on the guard's stdout while the run lives:\n%s", g.stdout.Bytes())
	}
	initSID := ceJSONField(init, "session_id")
	t.Logf("while running: ps session_id %q, init session_id %q, run %s, claude pid %d", row.SessionID, initSID, row.RunID, row.PID)
	if row.SessionID != initSID || initSID == "" {
		t.Errorf("ps --json session_id = %q, want the init line's %q", row.SessionID, initSID)
	}
	tails := rcFindMarked(s.marker)
	for _, pid := range tails {
		if !ceHasCookie(pid, row.RunID) {
			t.Errorf("marker process %d does not carry the run cookie %s", pid, row.RunID)
		}
	}
	close(hold)
	err := g.wait(ceTimeout)
	// Right after the guard's exit: the tail (reparented to the guard, a
	// subreaper) must already be gone. Zombies count as gone.
	left := s.left()
	t.Logf("guard exit: %s; stderr: %q", ceStatus(g.cmd, err), g.stderr.Bytes())
	if err != nil {
		t.Errorf("guard exit status: %s, want 0", ceStatus(g.cmd, err))
	}
	if len(left) > 0 {
		t.Errorf("processes of the run left right after the guard exited: %v", left)
	}
	out := g.stdout.Bytes()
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Errorf("stdout does not end with a newline: %.200q", out)
	}
	res := rcParse(t, out, row.PID, err)
	if res.lines[0] != init {
		t.Errorf("first stdout line is not the init line: %.200s", res.lines[0])
	}
	last := res.lines[len(res.lines)-1]
	if ceJSONField(last, "type") != "result" || ceJSONField(last, "result") != "done" {
		t.Errorf("last line is not the result %q: %.300s", "done", last)
	}
	// The init line byte for byte as claude writes it, ids and paths aside.
	want := ceNormInit(direct.initLine(t), direct.cwd, direct.home)
	got := ceNormInit(init, g.cmd.Dir, s.home)
	if got != want {
		t.Errorf("init line under the guard differs from a direct run's (ids and paths normalised):\n guard:  %s\n direct: %s", got, want)
	}
	if !bytes.Contains(out, []byte(init+"\n")) {
		t.Errorf("init line not found whole in stdout")
	}
	s.checkWatchdogGone()
}

// 2, 3. The guard killed while the Bash tool runs a blocking command.
// With stubborn, the command ignores SIGTERM (and so does the tail it runs).
func ceSignalled(t *testing.T, guard, claude string, sig syscall.Signal, stubborn bool, guardFlags ...string) {
	s := ceNewScenario(t, guard)
	command := "tail -f /dev/null " + s.marker
	if stubborn {
		command = "trap '' TERM INT HUP; " + command
	}
	srv := s.mock(mockapi.Bash(command), mockapi.Text("done"))
	g := s.start(nil, append(guardFlags, claude, "-p", "block", "--output-format", "stream-json", "--verbose", "--allowedTools", "Bash")...)
	srv.WaitRequests(1, ceTimeout)
	if !rcWaitFor(t, 20*time.Second, func() bool { return len(rcFindMarked(s.marker)) > 0 }) {
		t.Fatalf("the blocking Bash command never appeared")
	}
	row := s.waitRun(func(r ceRow) bool { return r.PID != 0 })
	members := ceCookieProcs(row.RunID)
	for _, pid := range rcFindMarked(s.marker) {
		if !ceHasCookie(pid, row.RunID) {
			t.Errorf("marker process %d lacks the run cookie", pid)
		}
	}
	t.Logf("run %s: guard %d, claude %d, cookie carriers %v, marker processes %v", row.RunID, row.GuardPID, row.PID, members, rcFindMarked(s.marker))
	if row.GuardPID != g.cmd.Process.Pid {
		t.Fatalf("ps guard_pid %d is not the guard we started (%d)", row.GuardPID, g.cmd.Process.Pid)
	}
	start := time.Now()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := g.wait(ceTimeout)
	exited := time.Since(start)
	leftAtExit := s.left()
	t.Logf("guard after %v: %s in %v; stderr: %q", sig, ceStatus(g.cmd, err), exited.Round(time.Millisecond), g.stderr.Bytes())
	switch sig {
	case syscall.SIGTERM:
		if len(leftAtExit) > 0 {
			t.Errorf("processes of the run left right after the guard exited: %v", leftAtExit)
		}
		// claude 2.1.328 catches SIGTERM and exits 143 (checked without the
		// guard); the guard forwards the signal and ends like its child.
		if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !(ws.Signaled() && ws.Signal() == syscall.SIGTERM) && ws.ExitStatus() != 143 {
			t.Errorf("guard status after SIGTERM: %s, want exit 143 (claude's own) or death by SIGTERM", ceStatus(g.cmd, err))
		}
	case syscall.SIGKILL:
		// The watchdog reaps the run: time until the last of it is gone.
		var last []string
		gone := rcWaitFor(t, 10*time.Second, func() bool { last = s.left(); return len(last) == 0 })
		took := time.Since(start)
		t.Logf("after SIGKILL of the guard: left at its death %v; all gone after %v (gone=%v)", leftAtExit, took.Round(time.Millisecond), gone)
		if !gone {
			t.Errorf("processes of the run still alive 10 s after the guard's SIGKILL: %v", last)
		} else if took > 2*time.Second {
			t.Errorf("the watchdog took %v to end the run, want <= 2s", took.Round(time.Millisecond))
		}
		// The watchdog removes the run from the registry.
		if !rcWaitFor(t, 5*time.Second, func() bool { return len(s.ps()) == 0 }) {
			t.Errorf("registry still lists the run after the watchdog: %+v", s.ps())
		}
	}
	s.checkWatchdogGone()
}

// 4. Plain text -p: the session id reaches the registry from claude's own
// sessions file.
func cePrintText(t *testing.T, guard, claude string) {
	hold := ceHold(t)
	s := ceNewScenario(t, guard)
	srv := s.mock(mockapi.Text("plain answer").Held(hold))
	g := s.start(nil, claude, "-p", "hi")
	srv.WaitArrived(1, ceTimeout)
	row := s.waitRun(func(r ceRow) bool { return r.SessionID != "" })
	sessFile := filepath.Join(s.cfgDir, "sessions", strconv.Itoa(row.PID)+".json")
	data, err := os.ReadFile(sessFile)
	if err != nil {
		t.Errorf("claude's sessions file: %v", err)
	}
	fileSID := ceJSONField(string(data), "sessionId")
	hdr := srv.Log()[0].Header.Get("X-Claude-Code-Session-Id")
	t.Logf("ps session_id %q, sessions file %q, request header %q", row.SessionID, fileSID, hdr)
	if row.SessionID != fileSID || row.SessionID != hdr {
		t.Errorf("ps session_id %q, want the sessions file's %q (= request header %q)", row.SessionID, fileSID, hdr)
	}
	close(hold)
	err = g.wait(ceTimeout)
	left := s.left()
	if err != nil {
		t.Errorf("guard: %s, want exit 0; stderr %q", ceStatus(g.cmd, err), g.stderr.Bytes())
	}
	if got := string(g.stdout.Bytes()); got != "plain answer\n" {
		t.Errorf("stdout = %q, want %q", got, "plain answer\n")
	}
	if len(left) > 0 {
		t.Errorf("processes of the run left right after the guard exited: %v", left)
	}
	s.checkWatchdogGone()
}

// 5. The TUI in a pseudo-terminal under the guard: ^C ^C, or the terminal
// closing.
func ceTUI(t *testing.T, guard, claude string, hangup bool) {
	s := ceNewScenario(t, guard)
	srv := s.mock(mockapi.Bash("tail -f /dev/null "+s.marker+" & echo started"), mockapi.Text("ce tui done"))
	// 2.1.328's TUI starts in auto mode, which sets the Bash(*) allow rule
	// aside and asks a server-side classifier (unreachable here) about
	// anything but trivial commands: the default mode honours --allowedTools.
	cmd := exec.Command(guard, claude, "--allowedTools", "Bash", "--permission-mode", "default")
	cmd.Env = s.env
	cmd.Dir = t.TempDir()
	claudeTrustDir(t, s.env, cmd.Dir)
	term := rcStartPTY(t, cmd)
	if term.WaitAny(ceTimeout, "? for shortcuts", "Yes, I trust this folder") != 0 {
		t.Fatal("trust dialog shown for a pre-trusted folder")
	}
	term.Send("ce run it")
	term.WaitText("ce run it", ceTimeout)
	term.Send("\r")
	srv.WaitRequests(2, ceTimeout)
	term.WaitText("ce tui done", ceTimeout)
	if body := string(srv.Log()[len(srv.Log())-1].Body); !strings.Contains(body, "started") {
		t.Errorf("the Bash call's output did not reach the second request")
	}
	if len(rcFindMarked(s.marker)) == 0 {
		t.Errorf("the Bash tool's background tail is not running")
	}
	row := s.waitRun(func(r ceRow) bool { return r.SessionID != "" })
	hdr := srv.Log()[0].Header.Get("X-Claude-Code-Session-Id")
	t.Logf("TUI run %s: ps session_id %q, request header %q", row.RunID, row.SessionID, hdr)
	if row.SessionID != hdr {
		t.Errorf("ps session_id %q, want claude's %q", row.SessionID, hdr)
	}
	start := time.Now()
	if hangup {
		term.f.Close()
	} else {
		term.Send("\x03")
		term.WaitText("Press Ctrl-C again to exit", ceTimeout)
		term.Send("\x03")
	}
	err := term.Wait(ceTimeout)
	left := s.left()
	t.Logf("guard exit after %s: %s in %v", map[bool]string{true: "the terminal closed", false: "^C ^C"}[hangup],
		ceStatus(cmd, err), time.Since(start).Round(time.Millisecond))
	if !hangup && err != nil {
		t.Errorf("guard status after ^C ^C: %s, want 0", ceStatus(cmd, err))
	}
	if len(left) > 0 {
		t.Errorf("processes of the run left right after the guard exited: %v", left)
	}
	if !rcWaitFor(t, 5*time.Second, func() bool { return len(s.left()) == 0 }) {
		t.Errorf("processes of the run still there 5 s after the guard exited: %v", s.left())
	}
	s.checkWatchdogGone()
}

// ceMCPScript is a stdio MCP server that ignores SIGTERM, SIGINT, SIGHUP
// and stdin EOF and leaves a background child (tail, carrying the marker)
// that claude, which signals only the server's pid, never ends.
const ceMCPScript = `#!/bin/sh
log=$1 marker=$2
trap '' TERM INT HUP
echo "start pid=$$" >> "$log"
tail -f /dev/null "$marker" &
while IFS= read -r line; do
  id=$(printf '%s\n' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\|"[^"]*"\).*/\1/p')
  method=$(printf '%s\n' "$line" | sed -n 's/.*"method":"\([^"]*\)".*/\1/p')
  echo "method=$method id=$id" >> "$log"
  case $method in
  initialize)
    pv=$(printf '%s\n' "$line" | sed -n 's/.*"protocolVersion":"\([^"]*\)".*/\1/p')
    printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"%s","capabilities":{"tools":{}},"serverInfo":{"name":"ceprobe","version":"1.0.0"}}}\n' "$id" "${pv:-2024-11-05}";;
  tools/list)
    printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[]}}\n' "$id";;
  *)
    if [ -n "$id" ]; then printf '{"jsonrpc":"2.0","id":%s,"result":{}}\n' "$id"; fi;;
  esac
done
echo "stdin-eof" >> "$log"
while :; do sleep 1 & wait; done
`

// 6. An MCP server that ignores every polite signal and stdin EOF, with a
// background child, is gone after claude exits under the guard.
func ceMCP(t *testing.T, guard, claude string) {
	hold := ceHold(t)
	s := ceNewScenario(t, guard)
	srv := s.mock(mockapi.Text("released").Held(hold))
	dir := t.TempDir()
	script := filepath.Join(dir, "mcp.sh")
	log := filepath.Join(dir, "mcp.log")
	if err := os.WriteFile(script, []byte(ceMCPScript), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "mcp.json")
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"ceprobe": map[string]any{"type": "stdio", "command": "/bin/sh", "args": []string{script, log, s.marker}},
	}})
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", "hi", "--output-format", "stream-json", "--verbose", "--mcp-config", cfgFile}
	g := s.start(nil, append([]string{claude}, args...)...)
	// The same without the guard, at the same time, for comparison: what
	// claude itself leaves and how long its exit takes.
	directDone := make(chan string, 1)
	var directWG sync.WaitGroup
	directWG.Add(1)
	t.Cleanup(directWG.Wait) // before the cleanups the direct run registered
	go func() { defer directWG.Done(); directDone <- ceMCPDirect(t, claude, args) }()
	srv.WaitArrived(1, ceTimeout)
	var marked []int
	rcWaitFor(t, 10*time.Second, func() bool { marked = rcFindMarked(s.marker); return len(marked) >= 2 })
	row := s.waitRun(func(r ceRow) bool { return r.PID != 0 })
	t.Logf("run %s: MCP server and its child (marker processes) %v", row.RunID, marked)
	if len(marked) < 2 {
		t.Errorf("want the MCP server and its tail running, found marker processes %v", marked)
	}
	// The tail inherits the script's ignored SIGTERM, so the guard's cleanup
	// takes its whole grace period before SIGKILL.
	// When claude itself ends (under the guard) and what of the run is
	// there at that moment, to tell claude's shutdown from the guard's.
	claudeEnded := make(chan string, 1)
	released := time.Now()
	go func() {
		claudeID, _ := rcReadStat(row.PID)
		for {
			if st, err := rcReadStat(row.PID); err != nil || st.start != claudeID.start || st.state == "Z" {
				claudeEnded <- fmt.Sprintf("claude ended %v after the release; then alive: %v", time.Since(released).Round(time.Millisecond), s.left())
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	close(hold)
	err := g.wait(ceTimeout)
	left := s.left()
	t.Logf("%s", <-claudeEnded)
	logData, _ := os.ReadFile(log)
	t.Logf("guard: %s %v after the answer was released; MCP server log:\n%s", ceStatus(g.cmd, err), time.Since(released).Round(time.Millisecond), logData)
	t.Logf("without the guard: %s", <-directDone)
	if err != nil {
		t.Errorf("guard: %s, want exit 0; stderr %q", ceStatus(g.cmd, err), g.stderr.Bytes())
	}
	res := rcParse(t, g.stdout.Bytes(), row.PID, err)
	var init struct {
		MCPServers []struct{ Name, Status string } `json:"mcp_servers"`
	}
	json.Unmarshal([]byte(res.initLine(t)), &init)
	if len(init.MCPServers) != 1 || init.MCPServers[0].Status != "connected" {
		t.Errorf("init mcp_servers = %+v, want ceprobe connected", init.MCPServers)
	}
	if len(left) > 0 {
		t.Errorf("processes of the run left right after the guard exited: %v", left)
	}
	s.checkWatchdogGone()
}

// ceMCPDirect runs claude with the MCP server of args (its script, log and
// a fresh marker) without the guard, and describes how it ended and what
// it left; the leftovers are killed (they carry the fresh marker). It runs
// on its own goroutine, so it reports problems in its result, never by
// failing the test.
func ceMCPDirect(t *testing.T, claude string, args []string) string {
	dir := t.TempDir()
	script, log := filepath.Join(dir, "mcp.sh"), filepath.Join(dir, "mcp.log")
	marker := filepath.Join(dir, fmt.Sprintf("ce-direct-marker-%d-%d", os.Getpid(), time.Now().UnixNano()))
	os.WriteFile(script, []byte(ceMCPScript), 0o755)
	t.Cleanup(func() { rcKillMarked(t, marker) })
	cfgFile := filepath.Join(dir, "mcp.json")
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"ceprobe": map[string]any{"type": "stdio", "command": "/bin/sh", "args": []string{script, log, marker}},
	}})
	os.WriteFile(cfgFile, cfg, 0o644)
	args = append([]string(nil), args...)
	args[len(args)-1] = cfgFile
	srv := mockapi.Start(t, mockapi.Text("released"))
	start := time.Now()
	cmd := exec.Command(claude, args...)
	cmd.Env = claudeEnv(t, srv.URL())
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("cannot start claude: %v", err)
	}
	timer := time.AfterFunc(ceTimeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	srv.WaitFor(ceTimeout, func([]mockapi.Request) bool { return srv.Requests() >= 1 })
	answered := time.Now()
	err := cmd.Wait()
	var left []string
	for _, pid := range rcFindMarked(marker) {
		left = append(left, ceDescribe(pid))
	}
	rcKillMarked(t, marker)
	return fmt.Sprintf("claude %s %v after its answer (%v in all); marker processes left: %v",
		ceStatus(cmd, err), time.Since(answered).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), left)
}

// 7. The Agent SDK's way in: a shim named claude, stream-json both ways over
// pipes; compared with the real claude run the same way.
func ceSDKShim(t *testing.T, guard, claude string) {
	shimDir := t.TempDir()
	shim := filepath.Join(shimDir, "claude")
	if err := os.Symlink(guard, shim); err != nil {
		t.Fatal(err)
	}
	args := []string{"--output-format", "stream-json", "--verbose", "--input-format", "stream-json"}

	type result struct {
		lines  []string
		status string
		code   int
		sid    string
		row    ceRow
		norm   []string // lines with ids, paths and timings normalised
	}
	run := func(t *testing.T, viaShim bool) result {
		s := ceNewScenario(t, guard)
		s.mock(mockapi.Text("sdk answer"))
		bin := claude
		env := s.env
		if viaShim {
			bin = shim
			env = append(env, "CLAUDE_GUARD_CLAUDE="+claude)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Dir = t.TempDir()
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		stderr := &rcLockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
			}
		})
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// What the Agent SDKs write for a user turn.
		msg := `{"type":"user","message":{"role":"user","content":"hi"},"parent_tool_use_id":null,"session_id":"default"}` + "\n"
		if _, err := io.WriteString(stdin, msg); err != nil {
			t.Fatal(err)
		}
		var r result
		timer := time.NewTimer(ceTimeout)
		defer timer.Stop()
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stdout closed before a result line; stderr %q", stderr.Bytes())
				}
				r.lines = append(r.lines, l)
				if ceJSONField(l, "type") == "system" && ceJSONField(l, "subtype") == "init" {
					r.sid = ceJSONField(l, "session_id")
				}
				if ceJSONField(l, "type") == "result" {
					break read
				}
			case <-timer.C:
				t.Fatalf("no result line within %v; got %d lines; stderr %q", ceTimeout, len(r.lines), stderr.Bytes())
			}
		}
		if viaShim {
			r.row = s.waitRun(func(r ceRow) bool { return r.SessionID != "" })
		}
		stdin.Close() // claude exits after its result only at stdin EOF
		for l := range lines {
			r.lines = append(r.lines, l)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(ceTimeout):
			t.Fatalf("did not exit within %v of stdin EOF", ceTimeout)
		}
		for _, l := range r.lines {
			r.norm = append(r.norm, ceTimings.ReplaceAllString(ceNormInit(l, cmd.Dir, s.home), `"$1":<n>`))
		}
		r.status = ceStatus(cmd, err)
		r.code = cmd.ProcessState.ExitCode()
		if viaShim {
			if left := s.left(); len(left) > 0 {
				t.Errorf("processes of the run left right after the shim exited: %v", left)
			}
			if len(stderr.Bytes()) > 0 {
				t.Logf("shim stderr: %q", stderr.Bytes())
			}
			s.checkWatchdogGone()
		}
		return r
	}
	var direct, shimmed result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.Run("direct", func(t *testing.T) { direct = run(t, false) })
	}()
	t.Run("shim", func(t *testing.T) { shimmed = run(t, true) })
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("direct: %s, %d lines %v; shim: %s, %d lines %v; ps session_id %q, init %q",
		direct.status, len(direct.lines), ceShapes(direct.lines), shimmed.status, len(shimmed.lines), ceShapes(shimmed.lines), shimmed.row.SessionID, shimmed.sid)
	if direct.code != shimmed.code || direct.status != shimmed.status {
		t.Errorf("exit status via the shim %s, directly %s", shimmed.status, direct.status)
	}
	if a, b := ceShapes(shimmed.lines), ceShapes(direct.lines); !equalStrings(a, b) {
		t.Errorf("output line types via the shim %v, directly %v", a, b)
	}
	for i := range min(len(direct.norm), len(shimmed.norm)) {
		if direct.norm[i] != shimmed.norm[i] {
			a, b := shimmed.norm[i], direct.norm[i]
			at := 0
			for at < len(a) && at < len(b) && a[at] == b[at] {
				at++
			}
			from := max(0, at-80)
			t.Errorf("output line %d differs beyond ids, paths and timings, at byte %d:\n shim:   …%s\n direct: …%s",
				i, at, a[from:min(len(a), at+120)], b[from:min(len(b), at+120)])
		}
	}
	if shimmed.row.SessionID != shimmed.sid || shimmed.sid == "" {
		t.Errorf("ps session_id %q, want the init line's %q", shimmed.row.SessionID, shimmed.sid)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ceShapes describes each output line by its type, subtype and top-level keys.
func ceShapes(lines []string) []string {
	var out []string
	for _, l := range lines {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) != nil {
			out = append(out, "not-json")
			continue
		}
		shape := ceJSONField(l, "type")
		if st := ceJSONField(l, "subtype"); st != "" {
			shape += "/" + st
		}
		out = append(out, shape)
	}
	return out
}

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
			if st, err := rcReadStat(pid); err == nil && st.state != "Z" {
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
	st, err := rcReadStat(pid)
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
