package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/reaper"
)

// psCmd is `claude-guard ps`.
type psCmd struct {
	JSON, All bool
	Out       io.Writer
}

func (p psCmd) Run() error {
	reg, err := openRegistry()
	if err != nil {
		return err
	}
	// A short-lived listing: trading memory for fewer collections
	// halves its time over thousands of entries.
	debug.SetGCPercent(800)
	rows, errs := reaper.Rows(reg, p.All)
	warnAll(errs)
	if p.JSON {
		return writeRowsJSON(p.Out, rows)
	}
	if len(rows) == 0 {
		if p.All {
			warn("no guarded runs, and no claude processes without a guard")
		} else {
			warn("no guarded runs (claude-guard ps --all also lists claude processes without a guard)")
		}
		return nil
	}
	tty := isatty.IsTerminal(os.Stdout.Fd())
	writeTable(p.Out, rows, tty && os.Getenv("NO_COLOR") == "", terminalWidth(os.Stdout), time.Now())
	return nil
}

func psCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Usage:     "list guarded runs",
		UsageText: "claude-guard ps [--json] [--all]\n\nExample: claude-guard ps --all",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "all", Usage: "also list claude processes no guard launched, marking orphans"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return psCmd{JSON: c.Bool("json"), All: c.Bool("all"), Out: c.App.Writer}.Run()
		},
	}
}

// reapCmd is `claude-guard reap`.
type reapCmd struct {
	Opts reaper.Options
	JSON bool
	Out  io.Writer
}

func (r reapCmd) Run() error {
	reg, err := openRegistry()
	if err != nil {
		return err
	}
	res, errs := reaper.Reap(reg, r.Opts)
	warnAll(errs)
	if err := writeResults(r.Out, r.JSON, res); err != nil {
		return err
	}
	if len(errs) > 0 {
		return exitError{1}
	}
	return nil
}

func reapCommand() *cli.Command {
	return &cli.Command{
		Name:      "reap",
		Usage:     "end what crashed runs left behind",
		UsageText: "claude-guard reap [--dry-run] [--json] [--older-than DURATION] [--unguarded] [--daemon]\n\nExample: claude-guard reap --dry-run --unguarded",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be signalled; signal nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.DurationFlag{Name: "older-than", Usage: "also end live runs older than this (e.g. 24h)",
				Action: func(_ *cli.Context, d time.Duration) error {
					if d <= 0 {
						return usageError{fmt.Errorf("--older-than %v: an age must be more than 0, e.g. 24h", d)}
					}
					return nil
				}},
			&cli.BoolFlag{Name: "unguarded", Usage: "also end orphaned claude trees no guard launched"},
			&cli.BoolFlag{Name: "daemon", Usage: "also end claude's background daemon and its sessions (claude daemon stop, for every configuration on record)"},
			graceFlag("time between SIGTERM and SIGKILL"),
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return reapCmd{Opts: reaper.Options{Grace: graceOf(c), DryRun: c.Bool("dry-run"),
				OlderThan: c.Duration("older-than"), Unguarded: c.Bool("unguarded"), Daemon: c.Bool("daemon")},
				JSON: c.Bool("json"), Out: c.App.Writer}.Run()
		},
	}
}

// killCmd is `claude-guard kill`.
type killCmd struct {
	Targets []string
	All     bool
	Signal  syscall.Signal
	Grace   time.Duration
	JSON    bool
	Out     io.Writer
}

func (k killCmd) Run() error {
	reg, err := openRegistry()
	if err != nil {
		return err
	}
	res, err := reaper.Kill(reg, k.Targets, k.All, k.Signal, k.Grace)
	if werr := writeResults(k.Out, k.JSON, res); werr != nil {
		return werr
	}
	if k.All && len(res) == 0 && err == nil && !k.JSON {
		warn("no guarded runs to end")
	}
	return err
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "end guarded runs and everything they started",
		UsageText: "claude-guard kill [--signal SIG] [--grace D] TARGET... | --all\n\nTARGET is a run id, a child pid, a session id, a label, or a unique prefix of a run id (4+ characters) or session id (8+);\n\"daemon\" is claude's background daemon (never included in --all).\nExample: claude-guard kill nvim   # the run started with --label nvim",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "end every guarded run"},
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "TERM", Usage: "polite signal sent first"},
			graceFlag("time before SIGKILL"),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 && !c.Bool("all") {
				return usageError{errors.New("kill: name a TARGET (run id, session id, pid, label) or --all")}
			}
			sig, err := killtree.ParseSignal(c.String("signal"))
			if err != nil {
				return usageError{err}
			}
			return killCmd{Targets: c.Args().Slice(), All: c.Bool("all"), Signal: sig, Grace: graceOf(c),
				JSON: c.Bool("json"), Out: c.App.Writer}.Run()
		},
	}
}

func writeResults(w io.Writer, asJSON bool, res []reaper.Result) error {
	if asJSON {
		if res == nil {
			res = []reaper.Result{}
		}
		return writeJSON(w, res)
	}
	writeResultLines(w, res)
	return nil
}
