//go:build linux

package tests

import (
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

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
