//go:build linux

package tests

import (
	"bytes"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

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
