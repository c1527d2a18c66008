//go:build linux

package tests

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

// watchdogs lists the processes watching this fixture's registry: its
// watcher, and watchdogs of runs that could not reach one.
func (f *fixture) watchdogs() []int {
	return append(watchersOf(f.home), watchdogsOf(f.home)...)
}

// watchersOf lists the watcher processes of registry home (argv
// claude-guard __watcher HOME).
func watchersOf(home string) []int {
	return procsWithArgs("claude-guard\x00__watcher\x00" + home + "\x00")
}

func watchdogsOf(home string) []int {
	return procsWithArgs("claude-guard\x00__watchdog\x00" + home + "\x00")
}

func procsWithArgs(prefix string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.HasPrefix(string(cmd), prefix) {
			out = append(out, pid)
		}
	}
	return out
}

// stopWatchers ends the watchers of registry home (SIGTERM: each finishes
// the watches under way) and waits until they and any watchdog are gone,
// so the registry can be removed. Watchers otherwise exit after
// CLAUDE_GUARD_WATCHER_IDLE without a run (1s in these tests, see TestMain).
func stopWatchers(home string) bool {
	for _, pid := range watchersOf(home) {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	return poll(pollLimit, func() bool { return len(watchersOf(home))+len(watchdogsOf(home)) == 0 })
}

func (f *fixture) waitWatchdogs(n int) []int {
	var w []int
	waitUntil(f.t, fmt.Sprintf("%d watchdogs of this test's registry", n), func() bool {
		w = f.watchdogs()
		return len(w) == n
	})
	return w
}

// One watcher serves every run of a registry, started by the first guard
// that finds none; no watchdog process is started per run; once no run is
// left it exits by itself after its idle time (1s here).
func TestWatcherServesRunsThenLeaves(t *testing.T) {
	f := newFixture(t)
	var gs []*exec.Cmd
	for i := range 3 {
		gs = append(gs, f.guard(helperPath(t, "fakeclaude"), fmt.Sprintf("ready=ready%d", i), "waitfile=done"))
	}
	for i := range 3 {
		waitPath(t, f.path(fmt.Sprintf("ready%d", i)))
	}
	w := f.waitWatchdogs(1)
	if n := watchdogsOf(f.home); len(n) != 0 {
		t.Errorf("watchdog processes beside the watcher: %v", n)
	}
	// doctor names it
	out, _, _ := f.run("doctor", "--json")
	var rep struct{ Registry struct{ Watcher int } }
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Registry.Watcher != w[0] {
		t.Errorf("doctor --json: watcher %d, want %d (%v)", rep.Registry.Watcher, w[0], err)
	}
	f.touch("done")
	for _, g := range gs {
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(t, w[0])
	if _, err := os.Lstat(filepath.Join(f.home, ".watcher.sock")); !os.IsNotExist(err) {
		t.Errorf("the watcher's socket is left: %v", err)
	}
}

// The watcher's own death loses nothing: the live run registers with a new
// watcher at once, which reaps the run when its guard dies in turn.
func TestWatcherDeathLosesNothing(t *testing.T) {
	f := newFixture(t)
	g := f.guard(helperPath(t, "fakeclaude"), "setsid=left", "ready=ready", "block")
	waitPath(t, f.path("ready"))
	waitRecorded(t, f.env, f.path("left"))
	w := f.waitWatchdogs(1)
	syscall.Kill(w[0], syscall.SIGKILL)
	waitGone(t, w[0])
	var w2 []int
	waitUntil(t, "a new watcher", func() bool {
		w2 = watchersOf(f.home)
		return len(w2) == 1 && w2[0] != w[0]
	})
	left := f.pid("left")
	g.Process.Kill()
	g.Wait()
	waitGone(t, left)
	if !alive(w2[0]) {
		t.Error("the new watcher is gone too")
	}
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

// The watcher killed at random moments while guards register, run and die:
// every run whose guard is SIGKILLed is still ended within 2 s, by the
// watcher the guard re-registered with, or (guard and watcher dead within
// moments of each other, as pkill -9 would) by the next watcher's first
// reap, while launches go on beside. 20 trials.
func TestWatcherCrashTrials(t *testing.T) {
	f := newFixture(t)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() { // short runs register and end all along
		defer close(churned)
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.run("true")
		}
	}()
	defer func() { close(stop); <-churned }()
	for i := range 20 {
		left, ready := fmt.Sprintf("left%d", i), fmt.Sprintf("ready%d", i)
		g := f.guard(helperPath(t, "fakeclaude"), "setsid="+left, "ready="+ready, "block")
		waitPath(t, f.path(ready))
		waitPath(t, f.path(left))
		if rng.Intn(2) == 0 {
			for _, w := range watchersOf(f.home) {
				syscall.Kill(w, syscall.SIGKILL)
			}
			// the guard dies now, or once it may have registered again
			if d := rng.Intn(3); d > 0 {
				time.Sleep(time.Duration(d) * 5 * time.Millisecond) // a random moment, not a wait for an event
			}
		}
		pid := f.pid(left)
		g.Process.Kill()
		g.Wait()
		killed := time.Now()
		if !poll(2*time.Second, func() bool { return !alive(pid) }) {
			t.Fatalf("trial %d: the run's process %d left %v after its guard died", i, pid, time.Since(killed))
		}
	}
}

// A FIFO where the watcher's socket belongs (a hostile or broken registry)
// is moved aside: runs still get a watcher, not a watchdog each, and the
// FIFO is in quarantine, never opened.
func TestWatcherSocketNotASocket(t *testing.T) {
	f := newFixture(t)
	if _, stderr, code := f.run("true"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	if !stopWatchers(f.home) {
		t.Fatal("the first watcher did not end")
	}
	sock := filepath.Join(f.home, ".watcher.sock")
	os.Remove(sock)
	if err := syscall.Mkfifo(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	g := f.guard(helperPath(t, "fakeclaude"), "ready=ready", "waitfile=done")
	waitPath(t, f.path("ready"))
	waitUntil(t, "a watcher serving the run", func() bool { return len(watchersOf(f.home)) == 1 })
	// The watcher process is there from its exec on; it moves the FIFO
	// aside as it starts to listen.
	var m []string
	waitUntil(t, "the FIFO in quarantine", func() bool {
		m, _ = filepath.Glob(filepath.Join(f.home, "quarantine", ".watcher.sock.*"))
		return len(m) > 0
	})
	if len(m) != 1 {
		t.Errorf("quarantined: %v", m)
	}
	if w := watchdogsOf(f.home); len(w) != 0 {
		t.Errorf("watchdogs started: %v", w)
	}
	f.touch("done")
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// A watcher whose registry directory is removed (a test's temporary home, a
// user's rm -rf) exits at its next tick instead of idling on, and does not
// make the directory again.
func TestWatcherLeavesWithItsRegistry(t *testing.T) {
	f := newFixture(t)
	env := append(f.env, "CLAUDE_GUARD_WATCHER_IDLE=1h")
	cmd := exec.Command(guardBinary(t), "true")
	cmd.Env, cmd.Dir = env, f.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("claude-guard true: %v: %s", err, out)
	}
	w := f.waitWatchdogs(1)
	if err := os.RemoveAll(f.home); err != nil {
		t.Fatal(err)
	}
	waitGone(t, w[0])
	if _, err := os.Stat(f.home); !os.IsNotExist(err) {
		t.Errorf("the registry is back: %v", err)
	}
}

// A watcher told to stop (SIGTERM) first sweeps the runs whose guards ended
// while it let events gather: each run leaves nothing in the registry.
func TestWatcherStoppedSweepsRunsJustEnded(t *testing.T) {
	f := newFixture(t)
	env := append(f.env, "CLAUDE_GUARD_WATCHER_IDLE=1h")
	for i := 0; i < 5; i++ {
		cmd := exec.Command(guardBinary(t), "true")
		cmd.Env, cmd.Dir = env, f.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("claude-guard true: %v: %s", err, out)
		}
		w := f.waitWatchdogs(1)
		syscall.Kill(w[0], syscall.SIGTERM)
		waitGone(t, w[0])
		names, _ := os.ReadDir(f.home)
		for _, n := range names {
			if id, _, _ := strings.Cut(n.Name(), "."); pidfile.ValidRunID(id) {
				t.Fatalf("round %d: %s left in the registry after its run ended and the watcher stopped", i, n.Name())
			}
		}
	}
}
