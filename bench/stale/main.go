//go:build linux

// Command stale prepares a benchmark registry: it waits for (then kills) the
// watchdogs still working on it, empties it, and fills it with N stale runs.
//
//	stale DIR N
//
// N = -1 only waits for the watchdogs and leaves the registry as it is.
// The entries are written by the registry's own code (pidfile.Create, Write,
// then the lock let go), so they are exactly what a guard that died leaves.
// They name no live process: every pid is above PID_MAX_LIMIT (4194304), so
// no process can have it, and the boot id is a foreign one. The startup reap
// therefore has real work to do (lock, read, scan, remove) and signals nothing.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

const pidMaxLimit = 4194304

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: stale DIR N")
		os.Exit(2)
	}
	dir, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < -1 {
		fail(fmt.Errorf("bad count %q", os.Args[2]))
	}
	if !strings.HasPrefix(dir, os.TempDir()) {
		fail(fmt.Errorf("refusing %s: a benchmark registry lives under %s", dir, os.TempDir()))
	}
	settleWatchdogs(dir, 10*time.Second)
	if n == -1 {
		return // only wait for the watchdogs: the registry stays as it is
	}
	if ready(dir, n) {
		return // as the last call left it: nothing reaped it since
	}
	if err := os.RemoveAll(dir); err != nil {
		fail(err)
	}
	reg, err := pidfile.Open(dir)
	if err != nil {
		fail(err)
	}
	if err := fill(reg, n); err != nil {
		fail(err)
	}
}

// ready reports whether dir holds exactly n entries and n locks, nothing else.
func ready(dir string, n int) bool {
	names, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	var js, locks int
	for _, e := range names {
		switch filepath.Ext(e.Name()) {
		case ".json":
			js++
		case ".lock":
			locks++
		default:
			return false
		}
	}
	return js == n && locks == n
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "stale:", err)
	os.Exit(1)
}

// fill writes n stale runs with distinct, valid run ids.
func fill(reg *pidfile.Registry, n int) error {
	base := time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%011x%08x", base+int64(i), i)
		h, err := reg.Create(id)
		if err != nil {
			return err
		}
		pid := pidMaxLimit + 1 + i
		e := &pidfile.Entry{
			GuardPID: pid, GuardStart: 1000, PID: pid + n, Start: 1001, PGID: pid + n,
			BootID: "00000000-0000-4000-8000-000000000000", Cookie: id, UID: os.Geteuid(),
			Cwd: "/tmp", Argv: []string{"claude", "-p", "benchmark", "--output-format", "stream-json"},
			StartedAt: time.UnixMilli(base + int64(i)).UTC(), GraceMS: 2000,
			Tree: []pidfile.Proc{{PID: pid + 2*n, Start: 1002}},
		}
		if err := h.Write(e); err != nil {
			return err
		}
		h.Close()
	}
	return nil
}

// settleWatchdogs waits for the watcher and watchdogs of registry dir (argv:
// claude-guard __watcher DIR, claude-guard __watchdog DIR RUNID) to finish
// their reap and exit (a watcher exits once idle: CLAUDE_GUARD_WATCHER_IDLE),
// and kills those still there at the deadline. Only processes naming this
// benchmark's own registry match.
func settleWatchdogs(dir string, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		pids := watchdogs(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(10 * time.Millisecond)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func watchdogs(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) >= 3 && (args[1] == "__watchdog" || args[1] == "__watcher") && args[2] == dir {
			if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && !isZombie(st) {
				out = append(out, pid)
			}
		}
	}
	return out
}

func isZombie(stat []byte) bool {
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}
