//go:build linux

package tests

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// trialProcs lists the live processes of one trial: those carrying its
// marker in their environment, and those whose pid files it wrote (the ones
// that cleared their environment), checked to be helper programs.
func trialProcs(marker, dir string) []int {
	var out []int
	seen := map[int]bool{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline"); strings.HasPrefix(string(cmd), "claude-guard\x00__watcher\x00") {
			continue // the registry's watcher, started by a trial's guard: not the run's
		}
		if strings.Contains("\x00"+string(env), "\x00CG_TRIAL="+marker+"\x00") {
			out = append(out, pid)
			seen[pid] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	forks, _ := filepath.Glob(filepath.Join(dir, "forks", "*"))
	for _, f := range append(files, forks...) {
		b, err := os.ReadFile(f)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil || seen[pid] || !alive(pid) {
			continue
		}
		if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(comm)) == "sleeper" {
			out = append(out, pid)
		}
	}
	return out
}

// One crash trial: a guard whose child starts setsid'd grandchildren, a
// double-forked daemon, one that ignores SIGTERM, one that clears its
// environment and 100 forks, SIGKILLed at a random moment while starting,
// running or cleaning up.
type trial struct {
	kind   string
	marker string
	dir    string
	guard  *exec.Cmd
}

func (f *fixture) startTrial(t *testing.T, rng *rand.Rand, i int, watchdog bool) *trial {
	tr := &trial{kind: []string{"starting", "running", "cleaning up"}[i%3], marker: fmt.Sprintf("%d-%d", os.Getpid(), i)}
	tr.dir = filepath.Join(f.dir, "trial"+strconv.Itoa(i))
	os.MkdirAll(filepath.Join(tr.dir, "forks"), 0o755)
	args := []string{"--grace", "1s"}
	if !watchdog {
		args = append(args, "--no-watchdog")
	}
	args = append(args, helperPath(t, "fakeclaude"), "pid=child", "setsid=s", "daemon=d", "ignoreterm=i", "fork=100:forks")
	switch tr.kind {
	case "starting":
		args = append(args, "block")
	case "running":
		args = append(args, "clearenv=e", "ready=ready", "block")
	case "cleaning up":
		args = append(args, "clearenv=e", "ready=ready", "waitfile=go", "exit=0")
	}
	tr.guard = exec.Command(guardBinary(t), args...)
	tr.guard.Env = append(slices.Clip(f.env), "CG_TRIAL="+tr.marker) // Clip: trials start at once; each needs its own copy
	tr.guard.Dir = tr.dir
	if err := tr.guard.Start(); err != nil {
		t.Fatal(err)
	}
	switch tr.kind {
	case "starting":
		time.Sleep(time.Duration(rng.Intn(20)) * time.Millisecond) // a random moment, not a wait
	case "running":
		waitPath(t, filepath.Join(tr.dir, "ready"))
		// the environment-clearing one is only findable once on record
		waitRecorded(t, f.env, filepath.Join(tr.dir, "e"))
		time.Sleep(time.Duration(rng.Intn(50)) * time.Millisecond)
	case "cleaning up":
		waitPath(t, filepath.Join(tr.dir, "ready"))
		waitRecorded(t, f.env, filepath.Join(tr.dir, "e"))
		os.WriteFile(filepath.Join(tr.dir, "go"), nil, 0o644)
		// the child exits now; the guard's cleanup waits out the grace for
		// the one that ignores SIGTERM
		time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
	}
	tr.guard.Process.Kill()
	tr.guard.Wait()
	return tr
}

func TestCrashTrials(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	for _, watchdog := range []bool{true, false} {
		t.Run(fmt.Sprintf("watchdog=%v", watchdog), func(t *testing.T) {
			f := newFixture(t)
			rng := rand.New(rand.NewSource(seed))
			const trials, batch = 50, 5
			var times []time.Duration
			var mu sync.Mutex
			for b := 0; b < trials; b += batch {
				var wg sync.WaitGroup
				for i := b; i < b+batch; i++ {
					wg.Add(1)
					r := rand.New(rand.NewSource(rng.Int63()))
					go func() {
						defer wg.Done()
						tr := f.startTrial(t, r, i, watchdog)
						killed := time.Now()
						if !watchdog {
							if _, stderr, code := f.run("reap", "--grace", "1s"); code != 0 {
								t.Errorf("reap: exit %d: %s", code, stderr)
							}
						}
						// With the watchdog, the goal is everything gone
						// within 2 s of the guard's death; without, reap
						// (or another guard's startup reap racing it) ends
						// the run.
						limit := 2 * time.Second
						if !watchdog {
							limit = 10 * time.Second
						}
						var left []int
						if !poll(time.Until(killed.Add(limit)), func() bool {
							left = trialProcs(tr.marker, tr.dir)
							return len(left) == 0
						}) {
							t.Errorf("trial %d (%s): %d processes left %v after %v: %v", i, tr.kind, len(left), limit, time.Since(killed), left)
							for _, p := range left {
								cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
								t.Logf("left: %d %q", p, cmd)
							}
							return
						}
						mu.Lock()
						times = append(times, time.Since(killed))
						mu.Unlock()
					}()
				}
				wg.Wait()
				if t.Failed() {
					return
				}
			}
			slices.Sort(times)
			if len(times) > 0 {
				t.Logf("%d trials, all gone after the guard's SIGKILL in: median %v, max %v", len(times), times[len(times)/2], times[len(times)-1])
			}
			if rows := f.ps(); len(rows) != 0 {
				t.Errorf("entries left: %v", rows)
			}
		})
	}
}
