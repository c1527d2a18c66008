//go:build linux

package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchdogs lists the watchdog processes serving this fixture's registry.
func (f *fixture) watchdogs() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.HasPrefix(string(cmd), "claude-guard\x00__watchdog\x00"+f.home+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}

func (f *fixture) waitWatchdogs(n int) []int {
	var w []int
	waitUntil(f.t, fmt.Sprintf("%d watchdogs of this test's registry", n), func() bool {
		w = f.watchdogs()
		return len(w) == n
	})
	return w
}

// Nothing is left of the watchdog when a run ends normally.
func TestWatchdogLeavesWithTheRun(t *testing.T) {
	f := newFixture(t)
	g := f.guard(helperPath(t, "fakeclaude"), "ready=ready", "waitfile=done")
	waitPath(t, f.path("ready"))
	w := f.waitWatchdogs(1)
	f.touch("done")
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, w[0])
}

// The watchdog's own death loses nothing: the run is reaped by the next
// launch (its startup reap) once its guard dies too.
func TestWatchdogDeathLosesNothing(t *testing.T) {
	f := newFixture(t)
	g := f.guard(helperPath(t, "fakeclaude"), "setsid=left", "ready=ready", "block")
	waitPath(t, f.path("ready"))
	waitRecorded(t, f.env, f.path("left"))
	w := f.waitWatchdogs(1)
	syscall.Kill(w[0], syscall.SIGKILL)
	waitGone(t, w[0])
	g.Process.Kill()
	g.Wait()
	left := f.pid("left")
	if !alive(left) {
		t.Fatal("reaped with no watchdog and no launch: the test proves nothing")
	}
	// the next launch reaps it, off its launch path: its watchdog does,
	// after that short run has ended
	if _, stderr, code := f.run("true"); code != 0 {
		t.Fatalf("launch: exit %d: %s", code, stderr)
	}
	waitGone(t, left)
}

// reap --older-than also ends live runs older than that; kill --all ends
// every run.
func TestReapOlderThanAndKillAll(t *testing.T) {
	f := newFixture(t)
	old := f.guard(helperPath(t, "fakeclaude"), "pid=old", "setsid=oldleft", "ready=r1", "block")
	waitPath(t, f.path("r1"))
	waitPath(t, f.path("oldleft"))
	// a run started after a reference point, then --older-than that age
	// (the young run must still be younger than that when reap looks, on a
	// loaded machine too: a second of margin)
	time.Sleep(1500 * time.Millisecond) // an age to compare, not a wait for an event
	young := f.guard(helperPath(t, "fakeclaude"), "pid=young", "ready=r2", "block")
	waitPath(t, f.path("r2"))
	out, stderr, code := f.run("reap", "--older-than", "1s", "--grace", "200ms")
	if code != 0 || !strings.Contains(out, "older than") {
		t.Fatalf("reap --older-than: exit %d: %q %q", code, out, stderr)
	}
	waitGone(t, f.pid("old"))
	waitGone(t, f.pid("oldleft"))
	old.Wait()
	if !alive(f.pid("young")) {
		t.Fatal("a younger run was ended")
	}
	if _, stderr, code := f.run("kill", "--all", "--grace", "200ms"); code != 0 {
		t.Fatalf("kill --all: exit %d: %s", code, stderr)
	}
	waitGone(t, f.pid("young"))
	young.Wait()
	if rows := f.ps(); len(rows) != 0 {
		t.Fatalf("left: %v", rows)
	}
}
