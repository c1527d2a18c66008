package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// writeTable writes rows as a table for people: run ids cut to a prefix
// kill accepts, relative ages, CPU time and memory (the cgroup's, where the
// run has one, else the processes' resident sizes), the label and command cut to fit
// width columns (the working directory too, where there is room), state
// coloured when color is set.
func writeTable(w io.Writer, rows []reaper.Row, color bool, width int, now time.Time) {
	if width < 60 {
		width = 80
	}
	// STATE fits the longest state, unguarded.
	fixed := 13 + 1 + 9 + 1 + 7 + 1 + 8 + 1 + 4 + 1 + 5 + 1 + 6 + 1
	// CPU time takes a column where there is room for it beside the
	// command: the command matters more at 80 columns.
	withCPU := width >= 90
	cpuHead := ""
	if withCPU {
		fixed += 6
		cpuHead = fmt.Sprintf(" %5s", "CPU")
	}
	fmt.Fprintf(w, "%-13s %-9s %7s %-8s %4s %5s%s %6s %s\n", "RUN", "STATE", "PID", "SESSION", "AGE", "PROCS", cpuHead, "MEM", "LABEL / COMMAND")
	for _, r := range rows {
		state := fmt.Sprintf("%-9s", r.State)
		if color {
			state = colorState(r.State) + state + "\x1b[0m"
		}
		age := "-"
		if !r.StartedAt.IsZero() {
			age = formatAge(now.Sub(r.StartedAt))
		}
		var rest []string
		session := r.SessionID
		if r.Kind == pidfile.KindDaemon {
			session = fmt.Sprintf("%d bg", len(r.Sessions))
			rest = daemonColumn(r)
		} else {
			if r.Label != "" {
				rest = append(rest, "["+r.Label+"]")
			}
			rest = append(rest, strings.Join(r.Argv, " "))
		}
		if r.Cwd != "" && width >= 100 {
			rest = append(rest, "(in "+r.Cwd+")")
		}
		tail := []rune(strings.Join(rest, " "))
		if room := width - fixed; len(tail) > room && room > 1 {
			tail = append(tail[:room-1], '…')
		}
		pid := "-"
		if r.PID > 0 {
			pid = strconv.Itoa(r.PID)
		}
		cpu, mem := "", r.RSSBytes
		if withCPU {
			cpu = fmt.Sprintf(" %5s", "-")
			if r.Cgroup != "" {
				cpu = fmt.Sprintf(" %5s", formatCPU(r.CPUUsec))
			}
		}
		if r.MemoryBytes > 0 {
			mem = r.MemoryBytes
		}
		fmt.Fprintf(w, "%-13s %s %7s %-8s %4s %5d%s %6s %s\n", orDash(cut(r.RunID, 13)), state, pid, orDash(cut(session, 8)),
			age, r.Processes, cpu, formatMiB(mem), string(tail))
	}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// terminalWidth is the width of the terminal f is, else $COLUMNS, else 80.
func terminalWidth(f *os.File) int {
	if w := terminalColumns(f.Fd()); w > 0 {
		return w
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

func colorState(s reaper.State) string {
	switch s {
	case reaper.StateRunning:
		return "\x1b[32m"
	case reaper.StateStale, reaper.StateOrphaned:
		return "\x1b[31m"
	}
	return "\x1b[33m"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatAge says how long ago, in the largest unit that fits: 45s, 3m, 2h, 5d.
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(max(d, 0)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// formatCPU formats CPU time in at most five columns: 0.25s, 12.3s, 4m05, 3h12.
func formatCPU(usec uint64) string {
	d := time.Duration(usec) * time.Microsecond
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < 100*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02d", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 100*time.Hour:
		return fmt.Sprintf("%dh%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dh", int(d/time.Hour))
}

// formatMiB formats a size in MiB with one decimal.
func formatMiB(b uint64) string {
	return fmt.Sprintf("%.1fM", float64(b)/(1<<20))
}

// writeResultLines says, a line per run, what ending runs did, or with
// --dry-run what it would do.
func writeResultLines(w io.Writer, res []reaper.Result) {
	for _, r := range res {
		name := r.RunID
		if name == "" {
			name = "session " + r.SessionID
		}
		if r.DryRun {
			fmt.Fprintf(w, "would end %s (%s): would signal %s%s\n", name, r.Why, plural(len(r.Termed), "process", "processes"), pidList(r.Termed))
			continue
		}
		fmt.Fprintf(w, "ended %s (%s): %s signalled, %d killed after the grace period%s\n", name, r.Why,
			plural(len(r.Termed), "process", "processes"), len(r.Killed), pidList(r.Termed, r.Killed))
	}
}

// plural is "1 run", "2 runs".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func pidList(lists ...[]killtree.ID) string {
	seen := map[int]bool{}
	var pids []string
	for _, l := range lists {
		for _, id := range l {
			if !seen[id.PID] {
				seen[id.PID] = true
				pids = append(pids, strconv.Itoa(id.PID))
			}
		}
	}
	if len(pids) == 0 {
		return ""
	}
	return ": pids " + strings.Join(pids, " ")
}

// daemonColumn describes claude's daemon for the last column: what it is,
// its sessions (short id and state), its configuration directory.
func daemonColumn(r reaper.Row) []string {
	out := []string{"[claude daemon]"}
	for _, s := range r.Sessions {
		id := s.Short
		if id == "" {
			id = cut(s.ID, 8)
		}
		if s.State != "" {
			id += " " + s.State
		}
		out = append(out, id+";")
	}
	return append(out, "config "+r.ConfigDir)
}
