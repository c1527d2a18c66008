//go:build linux

package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// ceMCPScript is a stdio MCP server that ignores SIGTERM, SIGINT, SIGHUP
// and stdin EOF and leaves a background child (tail, carrying the marker)
// that claude, which signals only the server's pid, never ends.
const ceMCPScript = `#!/bin/sh
log=$1 marker=$2
trap '' TERM INT HUP
echo "start pid=$$" >> "$log"
tail -f /dev/null "$marker" &
` + mcpServeLoop + `while :; do sleep 1 & wait; done
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
		claudeID, _ := readStat(row.PID)
		if !poll(ceTimeout, func() bool {
			st, err := readStat(row.PID)
			return err != nil || st.start != claudeID.start || st.state == "Z"
		}) {
			claudeEnded <- fmt.Sprintf("test timeout: claude still running %v after the release", ceTimeout)
			return
		}
		claudeEnded <- fmt.Sprintf("claude ended %v after the release; then alive: %v", time.Since(released).Round(time.Millisecond), s.left())
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
