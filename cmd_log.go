package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/pidfile"
)

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "show the audit log: every reap, watchdog action, SIGKILL and quarantined registry file",
		UsageText: "claude-guard log [--json] [-n N] [--follow]\n\n" +
			"Example: claude-guard log -n 20 --follow",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the raw JSON lines"},
			&cli.IntFlag{Name: "n", Usage: "show only the last N events (0: all)"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing events as they are appended, until interrupted"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.Int("n") < 0 {
				return usageError{errors.New("log: -n takes a count, 0 or more")}
			}
			return logCmd{JSON: c.Bool("json"), N: c.Int("n"), Follow: c.Bool("follow"), Ctx: c.Context, Out: c.App.Writer}.Run()
		},
	}
}

// logCmd is `claude-guard log`.
type logCmd struct {
	JSON   bool
	N      int // the last N events; 0: all
	Follow bool
	Ctx    context.Context
	Out    io.Writer
}

func (l logCmd) Run() error {
	dir, err := pidfile.Dir()
	if err != nil {
		return err
	}
	show := func(line []byte) {
		if l.JSON {
			fmt.Fprintf(l.Out, "%s\n", line)
		} else {
			fmt.Fprintln(l.Out, formatEvent(line))
		}
	}
	if !l.Follow {
		lines, err := pidfile.ReadAudit(dir, l.N)
		for _, line := range lines {
			show(line)
		}
		if len(lines) == 0 && err == nil && !l.JSON {
			warn("no events yet in %s", pidfile.AuditPath(dir))
		}
		return err
	}
	ctx, stop := signal.NotifyContext(l.Ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return pidfile.FollowAudit(ctx, dir, l.N, 200*time.Millisecond, show)
}

// formatEvent makes one readable line of an audit log line.
func formatEvent(line []byte) string {
	var ev pidfile.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return string(line)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-10s", ev.Time.Local().Format(time.RFC3339), ev.Event)
	if ev.RunID != "" {
		fmt.Fprintf(&b, " run %s", ev.RunID)
	}
	if ev.SessionID != "" {
		fmt.Fprintf(&b, " session %s", ev.SessionID)
	}
	if ev.Path != "" {
		fmt.Fprintf(&b, " %s", ev.Path)
	}
	if ev.Signal != "" {
		fmt.Fprintf(&b, ": SIG%s to %d processes", ev.Signal, len(ev.PIDs))
		for _, p := range ev.PIDs {
			fmt.Fprintf(&b, " %d", p)
		}
	}
	if len(ev.Left) > 0 {
		fmt.Fprintf(&b, "; %d survived SIGKILL", len(ev.Left))
	}
	if ev.Why != "" {
		fmt.Fprintf(&b, " (%s)", ev.Why)
	}
	return b.String()
}
