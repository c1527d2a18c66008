//go:build linux

// Command cpu measures the CPU time one launch costs, the whole tree
// included: every process a launch starts (a guard's detached watchdog too)
// is born into a dedicated cgroup v2 group, whose cpu.stat counts them all.
// Commands run back to back, as users run them; after each batch the group
// is waited on until it is empty (the last watchdog gone), then read.
// Variants are interleaved in rounds, so a noisy neighbour hits all alike.
//
//	cpu ROUNDS N NAME=COMMAND [NAME=COMMAND...]
//
// COMMAND is split on spaces. Prints JSON: per name the median over rounds
// of CPU µs per launch (usage, user, system), wall ms per launch until the
// group emptied, and wall ms per launch of the launches alone.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: cpu ROUNDS N NAME=COMMAND...")
		os.Exit(2)
	}
	rounds, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	root, err := unifiedMount()
	check(err)
	type variant struct {
		name string
		argv []string
	}
	var vs []variant
	for _, a := range os.Args[3:] {
		name, cmd, ok := strings.Cut(a, "=")
		if !ok {
			check(fmt.Errorf("bad variant %q", a))
		}
		vs = append(vs, variant{name, strings.Fields(cmd)})
	}
	samples := map[string][][5]float64{}
	for r := 0; r < rounds; r++ {
		for _, v := range vs {
			samples[v.name] = append(samples[v.name], batch(root, v.argv, n))
		}
	}
	out := map[string]any{"rounds": rounds, "launches_per_round": n, "cgroup_root": root}
	for _, v := range vs {
		s := samples[v.name]
		out[v.name] = map[string]float64{
			"cpu_usec": median(s, 0), "user_usec": median(s, 1), "system_usec": median(s, 2), "wall_ms": median(s, 3),
			"launch_ms": median(s, 4)}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(out))
}

// batch runs argv n times back to back inside a fresh cgroup and returns per
// launch: usage, user and system µs, wall ms until the group emptied, and
// wall ms of the launches alone (back to back, what a loop of launches waits).
func batch(root string, argv []string, n int) [5]float64 {
	dir := filepath.Join(root, fmt.Sprintf("claude-guard-bench-%d", os.Getpid()))
	check(os.Mkdir(dir, 0o755))
	// The guard makes its runs' cgroups below its own (dir/claude-guard/RUN):
	// all of them go with dir, or the next batch could not make it again.
	defer removeCgroups(dir)
	cg, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	check(err)
	defer syscall.Close(cg)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	check(err)
	defer null.Close()
	path := argv[0]
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{null.Fd(), null.Fd(), 2},
		Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg}}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		pid, err := syscall.ForkExec(path, argv, attr)
		check(err)
		var ws syscall.WaitStatus
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		check(err)
	}
	launches := time.Since(t0)
	// Detached descendants (watchdogs) still count: wait for the group to
	// empty. A watchdog waits at most reaper.StartupDelay plus its work.
	deadline := time.Now().Add(60 * time.Second)
	for populated(dir) {
		if time.Now().After(deadline) {
			check(fmt.Errorf("%s: still populated after 60 s", dir))
		}
		time.Sleep(2 * time.Millisecond)
	}
	wall := time.Since(t0)
	st := stat(filepath.Join(dir, "cpu.stat"))
	f := float64(n)
	return [5]float64{st["usage_usec"] / f, st["user_usec"] / f, st["system_usec"] / f, float64(wall.Microseconds()) / 1000 / f,
		float64(launches.Microseconds()) / 1000 / f}
}

// removeCgroups removes dir and every (empty) cgroup below it, deepest first.
func removeCgroups(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeCgroups(filepath.Join(dir, e.Name()))
		}
	}
	if err := syscall.Rmdir(dir); err != nil {
		fmt.Fprintf(os.Stderr, "cpu: rmdir %s: %v\n", dir, err)
	}
}

func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	check(err)
	return strings.Contains(string(b), "populated 1")
}

func stat(path string) map[string]float64 {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		m[k], _ = strconv.ParseFloat(v, 64)
	}
	return m
}

// unifiedMount finds the cgroup v2 mount in /proc/self/mountinfo.
func unifiedMount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		_, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(line); len(f) > 4 {
			return f[4], nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 mount")
}

func median(s [][5]float64, k int) float64 {
	v := make([]float64, len(s))
	for i := range s {
		v[i] = s[i][k]
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu:", err)
		os.Exit(1)
	}
}
