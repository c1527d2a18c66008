//go:build linux

package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

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
	st, _ := readStat(pids[0])
	cst, _ := readStat(cmd.Process.Pid)
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
` + mcpServeLoop + `if [ "$mode" = stubborn ]; then while :; do sleep 0.2; done; fi
`

// mcpServeLoop is the JSON-RPC part of both probe servers (rcMCPScript,
// ceMCPScript): it answers initialize, tools/list and any other request
// with an empty result until stdin ends, logging each method to $log.
const mcpServeLoop = `while IFS= read -r line; do
  id=$(printf '%s\n' "$line" | sed -n 's/.*"id":\([0-9][0-9]*\|"[^"]*"\).*/\1/p')
  method=$(printf '%s\n' "$line" | sed -n 's/.*"method":"\([^"]*\)".*/\1/p')
  echo "method=$method id=$id" >> "$log"
  case $method in
  initialize)
    pv=$(printf '%s\n' "$line" | sed -n 's/.*"protocolVersion":"\([^"]*\)".*/\1/p')
    printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"%s","capabilities":{"tools":{}},"serverInfo":{"name":"probe","version":"1.0.0"}}}\n' "$id" "${pv:-2024-11-05}";;
  tools/list)
    printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[]}}\n' "$id";;
  *)
    if [ -n "$id" ]; then printf '{"jsonrpc":"2.0","id":%s,"result":{}}\n' "$id"; fi;;
  esac
done
echo "stdin-eof" >> "$log"
`
