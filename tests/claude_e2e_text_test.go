//go:build linux

package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

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
