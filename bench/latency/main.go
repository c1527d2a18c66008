//go:build linux

// Command latency measures the per-line round trip through the guard's
// stream-json interposition. It starts an echo child (this same program,
// "latency echo": reads a line on stdin, writes it on stdout) directly and
// under the guard with --output-format stream-json, sends LINES lines one at
// a time, waits for each to come back, and prints the percentiles as JSON.
//
//	latency GUARD [LINES]
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"time"
)

const warmup = 1000

func main() {
	if len(os.Args) > 1 && os.Args[1] == "echo" {
		echo()
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: latency GUARD [LINES]")
		os.Exit(2)
	}
	lines := 10000
	if len(os.Args) > 2 {
		lines, _ = strconv.Atoi(os.Args[2])
	}
	self, err := os.Executable()
	check(err)
	direct := measure(exec.Command(self, "echo", "--output-format", "stream-json"), lines)
	guarded := measure(exec.Command(os.Args[1], self, "echo", "--output-format", "stream-json"), lines)
	out := map[string]any{"lines": lines}
	for _, p := range []float64{50, 90, 99} {
		d, g := pct(direct, p), pct(guarded, p)
		k := "p" + strconv.Itoa(int(p))
		out["direct_"+k+"_us"], out["guard_"+k+"_us"], out["added_"+k+"_us"] = us(d), us(g), us(g-d)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(out))
}

// echo copies stdin to stdout a line at a time, flushing each.
func echo() {
	r := bufio.NewReader(os.Stdin)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := os.Stdout.Write(line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// measure runs cmd and returns the round trip of each line after warmup.
func measure(cmd *exec.Cmd, lines int) []time.Duration {
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	check(err)
	outp, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	r := bufio.NewReader(outp)
	msg := []byte(`{"type":"user","message":{"role":"user","content":"ping"},"session_id":"0b4a7c5e-3f0e-4d8e-9c55-0a1b2c3d4e5f"}` + "\n")
	rtt := make([]time.Duration, 0, lines)
	for i := 0; i < warmup+lines; i++ {
		t0 := time.Now()
		_, err := in.Write(msg)
		check(err)
		_, err = r.ReadSlice('\n')
		check(err)
		if i >= warmup {
			rtt = append(rtt, time.Since(t0))
		}
	}
	in.Close()
	io.Copy(io.Discard, r)
	check(cmd.Wait())
	sort.Slice(rtt, func(i, j int) bool { return rtt[i] < rtt[j] })
	return rtt
}

func pct(s []time.Duration, p float64) time.Duration {
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
}
