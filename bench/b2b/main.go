//go:build linux

// Command b2b measures launches back to back, the variants interleaved: each
// round runs BLOCKS blocks of BLOCK launches of every variant, the variants'
// order shuffled for every block, so a variant's launches still follow each
// other (a guard's watcher is still busy with the one before) while the
// host's swings, which move more than the difference between two commands
// measured a few seconds apart, fall on every variant alike. A launch is
// timed from just before the fork to the end of wait4, as hyperfine -N does.
//
//	b2b ROUNDS BLOCKS BLOCK NAME=COMMAND...
//
// Prints JSON: per round, per name, the median launch in ms.
package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: b2b ROUNDS BLOCKS BLOCK NAME=COMMAND...")
		os.Exit(2)
	}
	rounds, _ := strconv.Atoi(os.Args[1])
	blocks, _ := strconv.Atoi(os.Args[2])
	block, _ := strconv.Atoi(os.Args[3])
	type variant struct {
		name string
		argv []string
	}
	var vs []variant
	for _, a := range os.Args[4:] {
		name, cmd, _ := strings.Cut(a, "=")
		argv := strings.Fields(cmd)
		path, err := exec.LookPath(argv[0])
		check(err)
		argv[0] = path
		vs = append(vs, variant{name, argv})
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	check(err)
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{null.Fd(), null.Fd(), 2}}
	once := func(argv []string) float64 {
		t0 := time.Now()
		pid, err := syscall.ForkExec(argv[0], argv, attr)
		check(err)
		var ws syscall.WaitStatus
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		check(err)
		return float64(time.Since(t0).Microseconds()) / 1000
	}
	var out []map[string]float64
	for r := 0; r < rounds; r++ {
		samples := map[string][]float64{}
		for b := 0; b < blocks; b++ {
			for _, i := range rand.Perm(len(vs)) {
				for j := 0; j < block; j++ {
					t := once(vs[i].argv)
					if b > 0 { // the first block of each warms up
						samples[vs[i].name] = append(samples[vs[i].name], t)
					}
				}
			}
		}
		med := map[string]float64{}
		for name, s := range samples {
			sort.Float64s(s)
			med[name] = s[len(s)/2]
		}
		out = append(out, med)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(map[string]any{"blocks": blocks, "block": block, "rounds": out}))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "b2b:", err)
		os.Exit(1)
	}
}
