//go:build linux

package tests

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func (f *fixture) psAll() []map[string]any {
	out, stderr, code := f.run("ps", "--all", "--json")
	if code != 0 {
		f.t.Fatalf("ps --all: exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		f.t.Fatal(err)
	}
	return rows
}

func (f *fixture) unguardedRow(session string) map[string]any {
	for _, r := range f.psAll() {
		if r["session_id"] == session {
			return r
		}
	}
	return nil
}

// ps --all finds a claude no guard launched, through its own sessions file,
// and marks it orphaned once its parent is gone; reap --unguarded ends it
// and the tool processes it left.
func TestUnguardedClaude(t *testing.T) {
	f := newFixture(t)
	// a fake claude under a shell that stays its parent, with a tool process
	// carrying its session id (as claude's Bash tool children do)
	sh := exec.Command("sh", "-c", `CLAUDE_CODE_SESSION_ID=sess-ung "$FAKE" sessions=sess-ung pid=claude setsid=tool waitfile=never & echo $! > shell-child; wait`)
	sh.Dir = f.dir
	sh.Env = append(f.env, "FAKE="+helperPath(t, "fakeclaude"))
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	claude, tool := f.pid("claude"), f.pid("tool")
	t.Cleanup(func() { syscall.Kill(claude, syscall.SIGKILL); syscall.Kill(tool, syscall.SIGKILL) })
	waitPath(t, f.path("claude"))

	row := f.unguardedRow("sess-ung")
	if row == nil || row["state"] != "unguarded" || int(row["pid"].(float64)) != claude || row["processes"].(float64) != 2 {
		t.Fatalf("ps --all: %v", row)
	}
	if rows := f.ps(); len(rows) != 0 {
		t.Fatalf("ps without --all lists unguarded claude: %v", rows)
	}

	// its parent dies
	sh.Process.Kill()
	sh.Wait()
	if ppid := parentOf(t, claude); ppid != 1 {
		t.Skipf("orphans here go to a subreaper (pid %d), not init; ps --all cannot tell it from a parent", ppid)
	}
	if row := f.unguardedRow("sess-ung"); row == nil || row["state"] != "orphaned" {
		t.Fatalf("after its parent died: %v", row)
	}
	// dry run: named, not signalled
	out, _, code := f.run("reap", "--unguarded", "--dry-run")
	if code != 0 || !strings.Contains(out, "would end session sess-ung") {
		t.Fatalf("reap --unguarded --dry-run: exit %d: %q", code, out)
	}
	if !alive(claude) || !alive(tool) {
		t.Fatal("--dry-run signalled")
	}
	out, _, code = f.run("reap", "--unguarded", "--grace", "200ms")
	if code != 0 || !strings.Contains(out, "ended session sess-ung") {
		t.Fatalf("reap --unguarded: exit %d: %q", code, out)
	}
	waitGone(t, claude)
	waitGone(t, tool)
}

func parentOf(t *testing.T, pid int) int {
	b, err := exec.Command("ps", "-o", "ppid=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		t.Fatal(err)
	}
	ppid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return ppid
}
