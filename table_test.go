package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/reaper"
)

func TestWriteTableFitsWidth(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rows := []reaper.Row{
		{RunID: "19a9bd2c0d1deadbeef", State: "running", PID: 4242, SessionID: "8f0c8c1e-1111-2222-3333-444455556666",
			StartedAt: now.Add(-3 * time.Minute), Processes: 12, RSSBytes: 300 << 20, Label: "nvim:main.go", Cgroup: "/cg", CPUUsec: 12_345_678,
			Cwd: "/home/someone/a/very/long/project/path", Argv: []string{"claude", "--model", "opus", "--allowedTools", "Bash,Read,Write"}},
		{State: "orphaned", PID: 7, SessionID: "x", Argv: []string{"claude"}},
	}
	for _, width := range []int{80, 120} {
		var b bytes.Buffer
		writeTable(&b, rows, false, width, now)
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("width %d: %d columns: %q", width, n, l)
			}
		}
		if !strings.Contains(b.String(), "19a9bd2c0d1de running") || !strings.Contains(b.String(), " 3m ") ||
			!strings.Contains(b.String(), "300.0M") || !strings.Contains(b.String(), "[nvim:main.go] claud") {
			t.Errorf("width %d:\n%s", width, b.String())
		}
		if hasCPU := strings.Contains(b.String(), " 12.3s "); hasCPU != (width >= 90) {
			t.Errorf("width %d: CPU column shown %v:\n%s", width, hasCPU, b.String())
		}
		if strings.Contains(b.String(), "\x1b[") {
			t.Error("colour without a terminal")
		}
	}
	var b bytes.Buffer
	writeTable(&b, rows, true, 80, now)
	if !strings.Contains(b.String(), "\x1b[32mrunning") {
		t.Errorf("no colour on a terminal:\n%q", b.String())
	}
}

func TestFormatCPU(t *testing.T) {
	for usec, want := range map[uint64]string{0: "0.00s", 250000: "0.25s", 12_345_678: "12.3s", 245e6: "4m05", 3*3600e6 + 12*60e6: "3h12", 200 * 3600e6: "200h"} {
		if got := formatCPU(usec); got != want {
			t.Errorf("formatCPU(%d) = %s, want %s", usec, got, want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 3 * time.Minute: "3m", 2 * time.Hour: "2h", 50 * time.Hour: "2d", -time.Second: "0s"} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %s, want %s", d, got, want)
		}
	}
}

// Every row's columns line up with the header's, whatever the state.
func TestWriteTableAligned(t *testing.T) {
	now := time.Now()
	rows := []reaper.Row{
		{RunID: "19a9bd2c0d1deadbeef", State: "running", PID: 4242, SessionID: "8f0c8c1e-1111", Argv: []string{"claude"}},
		{State: "unguarded", SessionID: "8f0c8c1e-2222", Processes: 1},
		{State: "orphaned", PID: 77777, SessionID: "8f0c8c1e-3333", Processes: 12, Argv: []string{"claude", "-p"}},
	}
	var b bytes.Buffer
	writeTable(&b, rows, false, 100, now)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := strings.Index(lines[0], "SESSION")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "8f0c8c1e ") {
			t.Errorf("SESSION not at column %d:\n%s", col, b.String())
		}
	}
	if !strings.Contains(lines[2], " unguarded       - 8f0c8c1e") {
		t.Errorf("a row without a pid: %q", lines[2])
	}
}

func TestWriteResultLines(t *testing.T) {
	var b bytes.Buffer
	writeResultLines(&b, []reaper.Result{
		{RunID: "abc", Why: "stale: guard gone", DryRun: true, Termed: []killtree.ID{{PID: 7}, {PID: 8}, {PID: 9}}},
		{SessionID: "s1", Why: "kill", Termed: []killtree.ID{{PID: 7}}},
	})
	want := "would end abc (stale: guard gone): would signal 3 processes: pids 7 8 9\n" +
		"ended session s1 (kill): 1 process signalled, 0 killed after the grace period: pids 7\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
