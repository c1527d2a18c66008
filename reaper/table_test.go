package reaper

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWriteTableFitsWidth(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	rows := []Row{
		{RunID: "19a9bd2c0d1deadbeef", State: "running", PID: 4242, SessionID: "8f0c8c1e-1111-2222-3333-444455556666",
			StartedAt: now.Add(-3 * time.Minute), Processes: 12, RSSBytes: 300 << 20, Label: "nvim:main.go", Cgroup: "/cg", CPUUsec: 12_345_678,
			Cwd: "/home/someone/a/very/long/project/path", Argv: []string{"claude", "--model", "opus", "--allowedTools", "Bash,Read,Write"}},
		{State: "orphaned", PID: 7, SessionID: "x", Argv: []string{"claude"}},
	}
	for _, width := range []int{80, 120} {
		var b bytes.Buffer
		WriteTable(&b, rows, false, width, now)
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("width %d: %d columns: %q", width, n, l)
			}
		}
		if !strings.Contains(b.String(), "19a9bd2c0d1de running") || !strings.Contains(b.String(), " 3m ") ||
			!strings.Contains(b.String(), "300.0M") || !strings.Contains(b.String(), "[nvim:main.go] claude") {
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
	WriteTable(&b, rows, true, 80, now)
	if !strings.Contains(b.String(), "\x1b[32mrunning") {
		t.Errorf("no colour on a terminal:\n%q", b.String())
	}
}

func TestCPUTime(t *testing.T) {
	for usec, want := range map[uint64]string{0: "0.00s", 250000: "0.25s", 12_345_678: "12.3s", 245e6: "4m05", 3*3600e6 + 12*60e6: "3h12", 200 * 3600e6: "200h"} {
		if got := CPUTime(usec); got != want {
			t.Errorf("CPUTime(%d) = %s, want %s", usec, got, want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 3 * time.Minute: "3m", 2 * time.Hour: "2h", 50 * time.Hour: "2d", -time.Second: "0s"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %s, want %s", d, got, want)
		}
	}
}
