//go:build linux

// Command reapbench times the reap of a big stale run. It starts a guarded
// run (--no-watchdog) whose child starts 100 sessions (setsid) of 10 sleeping
// processes each, SIGKILLs the guard once all 1,000 are up, so the run is
// stale, then times `claude-guard reap --grace 0s` and checks that every
// process of the run is gone. CLAUDE_GUARD_HOME must name a scratch registry.
//
//	reapbench GUARD [REPEATS]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	sessions   = 100
	perSession = 10
	// Each session is a shell that starts 9 sleeps and becomes the 10th.
	script = `for i in $(seq ` + "100" + `); do setsid sh -c 'for j in 1 2 3 4 5 6 7 8 9; do sleep 600 & done; exec sleep 600' & done; wait`
)

func main() {
	if len(os.Args) < 2 || !strings.HasPrefix(os.Getenv("CLAUDE_GUARD_HOME"), os.TempDir()) {
		fmt.Fprintln(os.Stderr, "usage: CLAUDE_GUARD_HOME=/tmp/... reapbench GUARD [REPEATS]")
		os.Exit(2)
	}
	guard := os.Args[1]
	repeats := 3
	if len(os.Args) > 2 {
		repeats, _ = strconv.Atoi(os.Args[2])
	}
	var reapMS, goneMS []float64
	var procs int
	for i := 0; i < repeats; i++ {
		r, g, n := once(guard)
		reapMS, goneMS, procs = append(reapMS, r), append(goneMS, g), n
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(map[string]any{
		"processes": procs, "sessions": sessions, "repeats": repeats,
		"reap_ms": reapMS, "gone_ms": goneMS,
		"reap_median_ms": median(reapMS), "gone_median_ms": median(goneMS),
	}))
}

// once builds the stale run and returns the reap's wall time, the time until
// the last process of the run was gone, and how many processes there were.
func once(guard string) (reapMS, goneMS float64, procs int) {
	cmd := exec.Command(guard, "--no-watchdog", "--label", "reapbench", "sh", "-c", script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, os.Stderr
	check(cmd.Start())
	runID := waitRunID(guard)
	deadline := time.Now().Add(30 * time.Second)
	for procs = len(members(runID)); procs < sessions*perSession+1; procs = len(members(runID)) {
		if time.Now().After(deadline) {
			check(fmt.Errorf("only %d processes came up", procs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Pdeathsig ends the run's first child with the guard; the sessions stay.
	for time.Now().Before(deadline) && len(members(runID)) > sessions*perSession {
		time.Sleep(5 * time.Millisecond)
	}
	procs = len(members(runID))

	t0 := time.Now()
	out, err := exec.Command(guard, "reap", "--grace", "0s", "--json").Output()
	reap := time.Since(t0)
	check(err)
	var res []struct {
		Termed []any `json:"termed"`
	}
	check(json.Unmarshal(out, &res))
	// The reap returns once it saw every process gone; a check right after
	// that finds none, and the reap's own time is the time until all are gone.
	gone := reap
	for len(members(runID)) > 0 {
		if time.Since(t0) > 10*time.Second {
			for _, pid := range members(runID) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			check(fmt.Errorf("processes of run %s outlived the reap by 10s", runID))
		}
		time.Sleep(time.Millisecond)
		gone = time.Since(t0)
	}
	if len(res) != 1 || len(res[0].Termed) < procs {
		check(fmt.Errorf("reap reported %d runs, expected one ending %d processes", len(res), procs))
	}
	return ms(reap), ms(gone), procs
}

// waitRunID returns the id of the one running run of the scratch registry.
func waitRunID(guard string) string {
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		out, err := exec.Command(guard, "ps", "--json").Output()
		if err != nil {
			continue
		}
		var rows []struct {
			RunID string `json:"run_id"`
			State string `json:"state"`
			PID   int    `json:"pid"`
		}
		if json.Unmarshal(out, &rows) == nil && len(rows) == 1 && rows[0].State == "running" && rows[0].PID > 0 {
			return rows[0].RunID
		}
	}
	check(fmt.Errorf("the guarded run never showed in ps"))
	return ""
}

// members lists the live (not zombie) processes carrying the run's cookie.
func members(runID string) []int {
	ents, _ := os.ReadDir("/proc")
	want := []byte("CLAUDE_GUARD_RUN=" + runID + "\x00")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !strings.Contains(string(env), string(want)) {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && i+2 < len(st) && (st[i+2] == 'Z' || st[i+2] == 'X') {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "reapbench:", err)
		os.Exit(1)
	}
}
