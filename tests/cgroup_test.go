//go:build linux

package tests

// Exact containment: with a cgroup per run nothing a run starts escapes,
// however it forks, setsids or scrubs its environment, and however the
// guard dies. Without one (CLAUDE_GUARD_CGROUP=off, or no delegated cgroup
// v2) the process group, subreaper, cookie and recorded tree hold, and
// never reach anything that is not the run's.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgroupActive asks the guard (doctor --json) whether runs get a cgroup.
func cgroupActive(t *testing.T, f *fixture) bool {
	out, stderr, _ := f.run("doctor", "--json")
	var rep struct {
		Active struct {
			Cgroup bool
			Detail string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v: %s", err, stderr)
	}
	if !rep.Active.Cgroup {
		t.Logf("no cgroup per run here: %s", rep.Active.Detail)
	}
	return rep.Active.Cgroup
}

// modeFixture is a fixture whose runs use containment mode: "cgroup" (the
// test is skipped, visibly, where none can be had) or "off".
func modeFixture(t *testing.T, mode string) *fixture {
	f := newFixture(t)
	switch mode {
	case "off":
		f.env = append(f.env, "CLAUDE_GUARD_CGROUP=off")
		if cgroupActive(t, f) {
			t.Fatal("CLAUDE_GUARD_CGROUP=off did not turn the cgroup off")
		}
	case "cgroup":
		if !cgroupActive(t, f) {
			t.Skip("no cgroup per run on this system (needs cgroup v2 and a writable own cgroup, e.g. root)")
		}
	}
	return f
}

// marked lists the live processes whose command line holds marker (a
// test's own temporary directory: nothing else names it).
func marked(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		if cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline"); strings.Contains(string(cmd), marker) {
			out = append(out, pid)
		}
	}
	return out
}

// waitNoneMarked waits up to limit for every process marked to go, and
// returns those left and how long it took. Survivors are killed afterwards:
// the test started them.
func waitNoneMarked(t *testing.T, marker string, limit time.Duration) ([]int, time.Duration) {
	t.Cleanup(func() {
		for _, pid := range marked(marker) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	start := time.Now()
	var left []int
	poll(limit, func() bool { left = marked(marker); return len(left) == 0 })
	return left, time.Since(start)
}

// entry reads the one entry of f's registry.
func (f *fixture) entry() (string, map[string]any) {
	f.t.Helper()
	m, _ := filepath.Glob(filepath.Join(f.home, "*.json"))
	if len(m) != 1 {
		f.t.Fatalf("want one entry, found %v", m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		f.t.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSuffix(filepath.Base(m[0]), ".json"), e
}

// killGuard SIGKILLs the guard, and with watchdogToo its watcher as well,
// as pkill -9 -f claude-guard would: the watcher is stopped first, so it
// neither acts on the guard's death nor dies before it (the guard would
// register with a new one).
func (f *fixture) killGuard(g *exec.Cmd, watchdogToo bool) {
	var ws []int
	if watchdogToo {
		ws = f.waitWatchdogs(1)
		for _, w := range ws {
			syscall.Kill(w, syscall.SIGSTOP)
		}
	}
	g.Process.Kill()
	g.Wait()
	for _, w := range ws {
		syscall.Kill(w, syscall.SIGKILL)
		waitGone(f.t, w)
	}
}

// A process that clears its environment and calls setsid right before the
// guard is SIGKILLed, long before any tree record could see it: the
// watchdog still ends it, through the cgroup. 10 trials, 0 survivors.
func TestCgroupEscapeeBeforeGuardKill(t *testing.T) {
	survivors := 0
	for i := 0; i < 10; i++ {
		f := modeFixture(t, "cgroup")
		g := f.guard(helperPath(t, "fakeclaude"), "ready=ready", "waitfile=go", "clearenv=e", "block")
		waitPath(t, f.path("ready"))
		_, e := f.entry()
		cg, _ := e["cgroup"].(string)
		if cg == "" {
			t.Fatalf("no cgroup in the entry: %v", e)
		}
		f.waitWatchdogs(1)
		f.touch("go")
		esc := f.pid("e")
		f.killGuard(g, false)
		start := time.Now()
		poll(10*time.Second, func() bool { return !alive(esc) })
		took := time.Since(start)
		if alive(esc) {
			survivors++
			syscall.Kill(esc, syscall.SIGKILL)
			t.Errorf("trial %d: escapee %d survived", i, esc)
			continue
		}
		t.Logf("trial %d: all gone %v after the guard's SIGKILL", i, took)
		waitUntil(t, "the run's cgroup removed", func() bool { _, err := os.Stat(cg); return os.IsNotExist(err) })
	}
	t.Logf("%d survivors in 10 trials", survivors)
}

// 500 processes that scrub their environment and setsid, started in a
// burst, then the guard SIGKILLed: none survives.
func TestCgroupBurstOf500(t *testing.T) {
	f := modeFixture(t, "cgroup")
	script := fmt.Sprintf(`i=0; while [ $i -lt 500 ]; do env -i setsid %s %s/b$i & i=$((i+1)); done; : > %s/forked; wait`,
		helperPath(t, "sleeper"), f.dir, f.dir)
	g := f.guard("sh", "-c", script)
	waitPath(t, f.path("forked"))
	f.waitWatchdogs(1)
	n := len(marked(f.dir))
	f.killGuard(g, false)
	left, took := waitNoneMarked(t, f.dir, 20*time.Second)
	if len(left) > 0 {
		t.Fatalf("%d of the burst survived: %v", len(left), left)
	}
	t.Logf("%d processes at the guard's SIGKILL, all gone %v after", n, took)
}

// A process whose SIGTERM handler starts a scrubbed, setsid'd daemon on its
// way out, the guard SIGKILLed: the watchdog's polite TERM sets it off, and
// the daemon is ended with the rest. 5 trials.
func TestCgroupTermHandlerSpawn(t *testing.T) {
	for i := 0; i < 5; i++ {
		f := modeFixture(t, "cgroup")
		// the daemon is a shell, quick to start on a loaded machine: the
		// watchdog's grace is short
		inner := fmt.Sprintf(`trap 'env -i setsid sh -c "echo \$\$ > %s/d.tmp; mv %s/d.tmp %s/d; while :; do sleep 1; done" & exit 0' TERM; : > %s/ready; %s %s/s & wait`,
			f.dir, f.dir, f.dir, f.dir, helperPath(t, "sleeper"), f.dir)
		g := f.guard("sh", "-c", `setsid sh -c "$1" & wait`, "sh", inner)
		waitPath(t, f.path("ready"))
		f.waitWatchdogs(1)
		f.killGuard(g, false)
		// the watchdog's reap is over once the run's entry is gone
		waitUntil(t, "the run reaped", func() bool {
			m, _ := filepath.Glob(filepath.Join(f.home, "*.json"))
			return len(m) == 0
		})
		left, _ := waitNoneMarked(t, f.dir, 0)
		if _, err := os.Stat(f.path("d")); err != nil {
			t.Errorf("trial %d: the TERM handler never ran: %v", i, err)
			continue
		}
		if d := f.pid("d"); alive(d) {
			syscall.Kill(d, syscall.SIGKILL)
			t.Errorf("trial %d: the daemon %d the TERM handler started survived", i, d)
		}
		if len(left) > 0 {
			t.Errorf("trial %d: survivors %v", i, left)
		}
	}
}

// Guard and watchdog SIGKILLed together (pkill -9 -f claude matches both):
// nothing acts, then claude-guard reap ends every process of the run.
func TestGuardAndWatchdogKilledThenReap(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			f := modeFixture(t, mode)
			g := f.guard("--grace", "300ms", helperPath(t, "fakeclaude"), "setsid=s", "daemon=d", "clearenv=e", "ignoreterm=i", "ready=ready", "block")
			waitPath(t, f.path("ready"))
			if mode == "off" {
				// without a cgroup the scrubbed one is findable only once on record
				waitRecorded(t, f.env, f.path("e"))
			}
			_, e := f.entry()
			cg, _ := e["cgroup"].(string)
			// ps reads the run's CPU time from its cgroup, where it has one
			rows := f.ps()
			if len(rows) != 1 {
				t.Fatalf("ps: %v", rows)
			}
			if got, _ := rows[0]["cgroup"].(string); got != cg || (mode == "cgroup") != (cg != "") {
				t.Errorf("ps cgroup %q, entry %q, mode %s", got, cg, mode)
			}
			if cpu, _ := rows[0]["cpu_usec"].(float64); (cpu > 0) != (mode == "cgroup") {
				t.Errorf("ps cpu_usec %v in mode %s", cpu, mode)
			}
			f.killGuard(g, true)
			pids := []int{f.pid("s"), f.pid("d"), f.pid("e"), f.pid("i")}
			for _, p := range pids {
				if !alive(p) {
					t.Fatalf("process %d ended before the reap: the test proves nothing", p)
				}
			}
			if _, stderr, code := f.run("reap", "--grace", "300ms"); code != 0 {
				t.Fatalf("reap: exit %d: %s", code, stderr)
			}
			if left, _ := waitNoneMarked(t, f.dir, 2*time.Second); len(left) > 0 {
				t.Fatalf("left after reap: %v", left)
			}
			if rows := f.ps(); len(rows) != 0 {
				t.Errorf("entries left: %v", rows)
			}
			if cg != "" {
				if _, err := os.Stat(cg); !os.IsNotExist(err) {
					t.Errorf("cgroup %s left: %v", cg, err)
				}
			}
		})
	}
}

// Guard and watchdog SIGKILLed, the run's whole group gone, the child's pid
// then reused by an unrelated process-group leader: neither the next plain
// launch's reap nor claude-guard reap signals it. The reuse is made by
// pointing the entry at the new leader, as a reuse would.
func TestPgidReuseNeverSignalled(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			f := modeFixture(t, mode)
			g := f.guard(helperPath(t, "fakeclaude"), "pid=child", "ready=ready", "block")
			waitPath(t, f.path("ready"))
			child := f.pid("child")
			f.killGuard(g, true)
			waitGone(t, child)
			id, e := f.entry()
			// A reuse comes long after the child's start; a leader started
			// within the same clock tick would be the child by identity.
			var other int
			for {
				pid, start := spawnSleeper(t, t.TempDir(), "other", &syscall.SysProcAttr{Setpgid: true})
				if float64(start) != e["start"].(float64) {
					other = pid
					break
				}
			}
			e["pid"], e["pgid"] = other, other
			e["tree"] = []map[string]any{{"pid": other, "start": e["start"]}}
			b, _ := json.Marshal(e)
			if err := os.WriteFile(filepath.Join(f.home, id+".json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			// a plain launch: its watchdog reaps the stale run after it
			if _, stderr, code := f.run("true"); code != 0 {
				t.Fatalf("claude-guard true: exit %d: %s", code, stderr)
			}
			waitUntil(t, "the stale run reaped", func() bool {
				m, _ := filepath.Glob(filepath.Join(f.home, "*.json"))
				return len(m) == 0
			})
			out, stderr, code := f.run("reap", "--json", "--grace", "100ms")
			if code != 0 {
				t.Fatalf("reap: exit %d: %s", code, stderr)
			}
			if !alive(other) {
				t.Fatal("the unrelated group leader was killed")
			}
			audit, _ := os.ReadFile(filepath.Join(f.home, "audit.log"))
			// as a pid, not as digits inside a run id or a time
			inAudit := regexp.MustCompile(`"pids":\[[^\]]*\b` + strconv.Itoa(other) + `\b`)
			inReap := regexp.MustCompile(`"pid": ` + strconv.Itoa(other) + `\b`)
			if inAudit.Match(audit) || inReap.MatchString(out) {
				t.Errorf("the unrelated leader %d was signalled:\n%s%s", other, audit, out)
			}
		})
	}
}

// A descendant of another user (a setuid program): never waited for in
// vain; the guard exits within grace + 1 s and says nothing of survivors.
// With a cgroup it is ended too: it is a member like any other.
func TestOtherUIDDescendant(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process of another user")
	}
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			f := modeFixture(t, mode)
			marker := fmt.Sprintf("7777.%d%d", os.Getpid(), time.Now().UnixNano()%1e6)
			start := time.Now()
			// The child exits once its descendant runs as the other user
			// (and holds none of the test's pipes, which would keep the
			// test waiting where the guard leaves it alive).
			_, stderr, code := f.run("--grace", "1s", "sh", "-c",
				"setpriv --reuid=65534 --regid=65534 --clear-groups sleep "+marker+" </dev/null >/dev/null 2>&1 & "+
					`while [ "$(stat -c %u /proc/$!)" != 65534 ]; do sleep 0.01; done; exit 0`)
			took := time.Since(start)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if strings.Contains(stderr, "survived") {
				t.Errorf("claims survivors: %s", stderr)
			}
			if took > 2*time.Second {
				t.Errorf("the guard took %v, more than grace + 1 s", took)
			}
			left, _ := waitNoneMarked(t, marker, 0)
			if mode == "cgroup" && len(left) > 0 {
				t.Errorf("the other user's process %v outlived the run's cgroup", left)
			}
			t.Logf("%s: guard exited after %v", mode, took)
		})
	}
}

// A forged entry cannot have an unrelated cgroup killed: a cgroup that is
// not claude-guard's for that run is never touched.
func TestForgedCgroupEntry(t *testing.T) {
	f := modeFixture(t, "cgroup")
	mount := ""
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if pre, post, ok := strings.Cut(l, " - "); ok && strings.HasPrefix(post, "cgroup2 ") {
				mount = strings.Fields(pre)[4]
			}
		}
	}
	victim := filepath.Join(mount, fmt.Sprintf("cg-test-victim-%d", os.Getpid()))
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pid, start := spawnSleeper(t, dir, "victim", &syscall.SysProcAttr{Setpgid: true})
	if err := os.WriteFile(filepath.Join(victim, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGKILL)
		waitGone(t, pid)
		os.Remove(victim)
	})
	boot := bootID(t)
	// the cgroup itself; one laid out like claude-guard's inside it; the
	// same through a path that climbs back
	for i, cg := range []string{victim, filepath.Join(victim, "claude-guard", "19a9bd2c0d100000001"), mount + "/../" + victim} {
		f.writeEntry("19a9bd2c0d10000000"+strconv.Itoa(i), map[string]any{"pid": 1 << 22, "start": start, "pgid": 0, "boot_id": boot, "cgroup": cg})
	}
	if _, stderr, code := f.run("reap", "--grace", "100ms"); code != 0 {
		t.Fatalf("reap: exit %d: %s", code, stderr)
	}
	if !alive(pid) {
		t.Fatal("a process of a cgroup named by a forged entry was killed")
	}
}

// The watchdog is never part of its own run's record (it used to be, in 1
// run of 2 to 8, when the tree was recorded while it was being started), in
// either mode: kill would then end it and leave its lock behind.
func TestWatchdogNeverRecorded(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			for i := 0; i < 8; i++ {
				f := modeFixture(t, mode)
				g := f.guard(helperPath(t, "fakeclaude"), "ready=ready", "waitfile=go")
				waitPath(t, f.path("ready"))
				w := f.waitWatchdogs(1)[0]
				// A wrong record would be made in the moment the watchdog
				// starts; two record intervals (250 ms) give it the chance
				// to show. No event marks the absence of a write.
				time.Sleep(600 * time.Millisecond)
				_, e := f.entry()
				for _, p := range e["tree"].([]any) {
					if int(p.(map[string]any)["pid"].(float64)) == w {
						t.Errorf("run %d: the watchdog %d is in its run's tree", i, w)
					}
				}
				if cg, _ := e["cgroup"].(string); cg != "" {
					procs, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
					if strings.Contains("\n"+string(procs), "\n"+strconv.Itoa(w)+"\n") {
						t.Errorf("run %d: the watchdog %d is in its run's cgroup", i, w)
					}
				}
				f.touch("go")
				if err := g.Wait(); err != nil {
					t.Fatal(err)
				}
				waitGone(t, w)
			}
		})
	}
}

// Without a cgroup: 500 processes that left the group and scrubbed their
// environment, all on record, the guard SIGKILLed: the watchdog ends them
// within about 2 s.
func TestFallback500Recorded(t *testing.T) {
	f := modeFixture(t, "off")
	script := fmt.Sprintf(`i=0; while [ $i -lt 500 ]; do env -i setsid %s %s/b$i & i=$((i+1)); done; wait`,
		helperPath(t, "sleeper"), f.dir)
	g := f.guard("sh", "-c", script)
	f.waitWatchdogs(1)
	waitUntil(t, "500 processes on record", func() bool {
		m, _ := filepath.Glob(filepath.Join(f.home, "*.json"))
		if len(m) != 1 {
			return false
		}
		b, _ := os.ReadFile(m[0])
		var e struct{ Tree []any }
		json.Unmarshal(b, &e)
		return len(e.Tree) >= 501
	})
	f.killGuard(g, false)
	left, took := waitNoneMarked(t, f.dir, 10*time.Second)
	if len(left) > 0 {
		t.Fatalf("%d left 10 s after the guard's SIGKILL", len(left))
	}
	t.Logf("500 recorded processes gone %v after the guard's SIGKILL", took)
	if took > 2*time.Second {
		t.Errorf("took %v, more than the 2 s promised", took)
	}
}

// kill of a live run whose claude ignores SIGTERM: the SIGKILL round stops
// what it collects, but never the guard's own child, whose stop the guard
// would follow into a stop of its own. The guard ends as its child did.
func TestKillLiveRunIgnoringTerm(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			f := modeFixture(t, mode)
			g := f.guard("--label", "stubborn", helperPath(t, "fakeclaude"), "ignore=TERM", "setsid=s", "ready=ready", "block")
			waitPath(t, f.path("ready"))
			if _, stderr, code := f.run("kill", "--grace", "200ms", "stubborn"); code != 0 {
				t.Fatalf("kill: exit %d: %s", code, stderr)
			}
			done := make(chan error, 1)
			go func() { done <- g.Wait() }()
			select {
			case err := <-done:
				if ws := g.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
					t.Errorf("guard ended %v, want killed by SIGKILL as its child", err)
				}
			case <-time.After(20 * time.Second):
				g.Process.Signal(syscall.SIGCONT)
				g.Process.Kill()
				t.Fatal("the guard never ended")
			}
			waitGone(t, f.pid("s"))
		})
	}
}

// Every signal the guard sends to a leftover once its command has exited is
// in the audit log, the SIGKILL escalation apart, as the reaper's are.
func TestCleanupAudited(t *testing.T) {
	for _, mode := range []string{"cgroup", "off"} {
		t.Run(mode, func(t *testing.T) {
			f := modeFixture(t, mode)
			_, stderr, code := f.run("--grace", "200ms", helperPath(t, "fakeclaude"), "setsid=s", "ignoreterm=i", "exit=0")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			s, i := f.pid("s"), f.pid("i")
			waitGone(t, s)
			waitGone(t, i)
			b, _ := os.ReadFile(filepath.Join(f.home, "audit.log"))
			var term, kill []int
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var ev struct {
					Event string
					PIDs  []int
				}
				json.Unmarshal([]byte(l), &ev)
				switch ev.Event {
				case "cleanup":
					term = append(term, ev.PIDs...)
				case "sigkill":
					kill = append(kill, ev.PIDs...)
				}
			}
			has := func(l []int, p int) bool {
				for _, x := range l {
					if x == p {
						return true
					}
				}
				return false
			}
			if !has(term, s) || !has(term, i) || !has(kill, i) {
				t.Errorf("audit log: TERM to %v, KILL to %v; want TERM to %d and %d, KILL to %d:\n%s", term, kill, s, i, i, b)
			}
		})
	}
}
