//go:build linux

// Command first measures the time from starting a launcher to its child's
// first instruction of its own: what a user waits before claude starts.
// The child is this binary run as `first child`, which writes its
// CLOCK_MONOTONIC reading at the top of main to stdout; the parent reads the
// clock just before fork. Started directly, that span is the child's own
// start (fork, exec, the Go runtime's init); through a launcher, the
// launcher's part is what it adds. Launches run back to back in batches,
// variants interleaved in rounds.
//
//	first ROUNDS N NAME=LAUNCHER... (the child is appended to each LAUNCHER;
//	                                 NAME=- runs the child directly)
//
// Prints JSON: per name the median and p90 in ms over all launches.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "child" {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(now()))
		os.Stdout.Write(b[:])
		return
	}
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: first ROUNDS N NAME=LAUNCHER...")
		os.Exit(2)
	}
	rounds, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	self, err := os.Executable()
	check(err)
	type variant struct {
		name string
		argv []string
	}
	var vs []variant
	for _, a := range os.Args[3:] {
		name, cmd, _ := strings.Cut(a, "=")
		argv := strings.Fields(cmd)
		if cmd == "-" {
			argv = nil
		}
		vs = append(vs, variant{name, append(argv, self, "child")})
	}
	samples := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, v := range vs {
			for i := 0; i < n; i++ {
				samples[v.name] = append(samples[v.name], once(v.argv))
			}
		}
	}
	out := map[string]any{"rounds": rounds, "launches_per_round": n}
	for _, v := range vs {
		s := samples[v.name]
		sort.Float64s(s)
		out[v.name] = map[string]float64{"median_ms": s[len(s)/2], "p90_ms": s[len(s)*9/10]}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(out))
}

// once starts argv with a pipe as stdout and returns ms from just before the
// fork to the child's reading of the clock. It then waits for the launcher.
func once(argv []string) float64 {
	r, w, err := os.Pipe()
	check(err)
	null, err := os.Open(os.DevNull)
	check(err)
	t0 := now()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: os.Environ(),
		Files: []uintptr{null.Fd(), w.Fd(), 2}})
	check(err)
	w.Close()
	null.Close()
	var b [8]byte
	_, err = io.ReadFull(r, b[:])
	check(err)
	r.Close()
	var ws syscall.WaitStatus
	_, err = syscall.Wait4(pid, &ws, 0, nil)
	check(err)
	return float64(int64(binary.LittleEndian.Uint64(b[:]))-t0) / 1e6
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "first:", err)
		os.Exit(1)
	}
}
