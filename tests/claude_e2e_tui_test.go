//go:build linux

package tests

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

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
