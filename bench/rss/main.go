//go:build linux

// Command rss reports the peak resident set (VmHWM) of the process watching a
// guarded run: it starts `GUARD sleep SECONDS` on the scratch registry in
// CLAUDE_GUARD_HOME, finds the registry's watcher by its argv (claude-guard
// __watcher DIR; or the run's own watchdog, claude-guard __watchdog DIR
// RUNID, the run id from ps --json) and samples /proc/<pid>/status until the
// run ends. It also says whether the watcher's first reap emptied the
// registry of stale entries while it watched.
//
//	rss GUARD SECONDS
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	home := os.Getenv("CLAUDE_GUARD_HOME")
	if len(os.Args) != 3 || !strings.HasPrefix(home, os.TempDir()) {
		fmt.Fprintln(os.Stderr, "usage: CLAUDE_GUARD_HOME=/tmp/... rss GUARD SECONDS")
		os.Exit(2)
	}
	guard := os.Args[1]
	dir, _ := filepath.Abs(home)
	cmd := exec.Command(guard, "sleep", os.Args[2])
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var runID string
	var wd int
	var hwm, hwmGuard int
	reaped := false
	for {
		select {
		case err := <-done:
			check(err)
			enc := json.NewEncoder(os.Stdout)
			check(enc.Encode(map[string]any{"watchdog_vmhwm_kib": hwm, "guard_vmhwm_kib": hwmGuard,
				"stale_reaped": reaped, "run_id": runID}))
			return
		case <-time.After(5 * time.Millisecond):
		}
		if runID == "" {
			runID = running(guard)
			continue
		}
		if wd == 0 {
			wd = watchdog(dir, runID)
		}
		if wd != 0 {
			if v := vmHWM(wd); v > 0 {
				hwm = v
			}
		}
		if v := vmHWM(cmd.Process.Pid); v > 0 {
			hwmGuard = v
		}
		if !reaped {
			m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			reaped = len(m) == 1
		}
	}
}

func running(guard string) string {
	out, err := exec.Command(guard, "ps", "--json").Output()
	if err != nil {
		return ""
	}
	var rows []struct {
		RunID string `json:"run_id"`
		State string `json:"state"`
	}
	json.Unmarshal(out, &rows)
	for _, r := range rows {
		if r.State == "running" {
			return r.RunID
		}
	}
	return ""
}

func watchdog(dir, runID string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		a := strings.Split(string(b), "\x00")
		if len(a) >= 4 && a[1] == "__watchdog" && a[2] == dir && a[3] == runID {
			return pid
		}
		if len(a) >= 3 && a[1] == "__watcher" && a[2] == dir {
			return pid
		}
	}
	return 0
}

func vmHWM(pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}
