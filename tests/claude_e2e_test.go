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
	"syscall"
	"testing"
	"time"
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
