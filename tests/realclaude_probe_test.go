//go:build linux

package tests

// TestRealClaudeProbe runs the real, pinned claude (no guard, but to time -v) against
// tests/mockapi and checks the behaviours claude-guard relies on. Each subtest
// doubles as documentation of one fact; run it with -v to see the details.

import (
	"sort"
	"testing"
	"time"
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
	t.Run("version", func(t *testing.T) { rcProbeVersion(t, bin) })

	// -p with stream-json: exits 0; an init line carries the session id.
	t.Run("print_init", func(t *testing.T) { rcProbePrintInit(t, bin) })

	// A background process started through the Bash tool outlives claude.
	t.Run("bash_background_survives", func(t *testing.T) { rcProbeBashBackgroundSurvives(t, bin) })

	// $CLAUDE_CONFIG_DIR/sessions/<pid>.json exists while claude runs.
	t.Run("sessions_file", func(t *testing.T) { rcProbeSessionsFile(t, bin) })

	// The interactive TUI, offline, in a pseudo-terminal.
	t.Run("tui", func(t *testing.T) { rcProbeTUI(t, bin) })

	// With the folder pre-trusted (claudeTrustDir) the TUI skips the dialog.
	t.Run("tui_pretrusted", func(t *testing.T) { rcProbeTUIPretrusted(t, bin) })

	// Closing the terminal (the pty master) hangs claude up: the kernel sends
	// SIGHUP to it (it leads the terminal's session) and it exits.
	t.Run("tui_hangup", func(t *testing.T) { rcProbeTUIHangup(t, bin) })

	// An stdio MCP server from --mcp-config: started in -p mode, ended on exit.
	t.Run("mcp_server", func(t *testing.T) { rcProbeMCP(t, bin, "polite") })
	// One that ignores signals and stdin EOF: what does claude escalate to?
	t.Run("mcp_server_stubborn", func(t *testing.T) { rcProbeMCP(t, bin, "stubborn") })
}
