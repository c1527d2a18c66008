//go:build linux

package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// 8 reapers loop while 32 runs start and stop, half of them crashing: every
// stale run is reaped exactly once (the audit log says by whom), and no
// process of a live run is ever signalled.
func TestConcurrentReapers(t *testing.T) {
	f := newFixture(t)
	fake := helperPath(t, "fakeclaude")
	stop := make(chan struct{})
	var reapers sync.WaitGroup
	var reapOut sync.Map
	for i := 0; i < 8; i++ {
		reapers.Add(1)
		go func() {
			defer reapers.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				out, stderr, code := f.run("reap", "--json", "--grace", "200ms")
				if code != 0 {
					t.Errorf("reap: exit %d: %s", code, stderr)
					return
				}
				reapOut.Store(fmt.Sprint(i, n), out)
			}
		}()
	}
	type run struct {
		crash bool
		dir   string
		cmd   *exec.Cmd
	}
	var runs []*run
	for i := 0; i < 32; i++ {
		r := &run{crash: i%2 == 0, dir: filepath.Join(f.dir, fmt.Sprint("run", i))}
		os.Mkdir(r.dir, 0o755)
		args := []string{"--label", fmt.Sprint("run", i)}
		if r.crash {
			args = append(args, "--no-watchdog")
		}
		r.cmd = exec.Command(guardBinary(t), append(args, fake, "pid=child", "record=sigs", "setsid=left", "ready=ready", "waitfile=done")...)
		r.cmd.Env, r.cmd.Dir = f.env, r.dir
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	for _, r := range runs {
		waitPath(t, filepath.Join(r.dir, "ready"))
		if r.crash {
			waitRecorded(t, f.env, filepath.Join(r.dir, "left"))
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	}
	// every crashed run's leftover is reaped; the live ones are untouched
	for _, r := range runs {
		if r.crash {
			waitGone(t, readPidFile(t, filepath.Join(r.dir, "left")))
		}
	}
	for _, r := range runs {
		if r.crash {
			continue
		}
		if !alive(readPidFile(t, filepath.Join(r.dir, "child"))) || !alive(readPidFile(t, filepath.Join(r.dir, "left"))) {
			if b, err := os.ReadFile(filepath.Join(r.dir, "helper-timeout")); err == nil {
				t.Errorf("%s: test timeout: %s", r.dir, b)
			} else {
				t.Errorf("%s: a process of a live run is gone", r.dir)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(r.dir, "sigs")); len(b) > 0 {
			t.Errorf("%s: a live run's child was signalled: %s", r.dir, b)
		}
		os.WriteFile(filepath.Join(r.dir, "done"), nil, 0o644)
		if err := r.cmd.Wait(); err != nil {
			t.Errorf("%s: live run ended with %v", r.dir, err)
		}
	}
	close(stop)
	reapers.Wait()

	// exactly one reap per crashed run, by a reaper or a watchdog
	reaped := map[string]int{}
	lf, err := os.Open(filepath.Join(f.home, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		var ev struct {
			Event string `json:"event"`
			RunID string `json:"run_id"`
		}
		json.Unmarshal(sc.Bytes(), &ev)
		if ev.Event == "reap" || ev.Event == "watchdog" {
			reaped[ev.RunID]++
		}
	}
	if len(reaped) != 16 {
		t.Errorf("%d runs reaped, want 16: %v", len(reaped), reaped)
	}
	for id, n := range reaped {
		if n != 1 {
			t.Errorf("run %s reaped %d times", id, n)
		}
	}
	var outputs int
	reapOut.Range(func(_, v any) bool { outputs++; return true })
	t.Logf("%d reap invocations", outputs)
	if rows := f.ps(); len(rows) != 0 {
		t.Errorf("left in the registry: %v", rows)
	}
}
