package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// guard runs one guarded command and returns the exit status to end with. A
// child killed by a signal is mirrored by raising that signal.
func guard(cfg launcher.Config) int {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, launcher.Signals...)
	cfg.Signals = sigs
	cfg.Warn = warn
	st, err := launcher.Run(cfg)
	signal.Stop(sigs)
	if err != nil {
		var se *launcher.StartError
		if errors.As(err, &se) {
			warn("%v", se.Err)
			return se.Code
		}
		warn("%v", err)
		return 1
	}
	if st.Signal != 0 {
		launcher.Raise(st.Signal)
		return 128 + int(st.Signal)
	}
	return st.Code
}

func guardFlags() []cli.Flag {
	return []cli.Flag{
		graceFlag("time between the polite signal and SIGKILL when ending the run"),
		&cli.BoolFlag{Name: "keep-descendants", Usage: "leave what the command left behind after a normal exit"},
		&cli.StringFlag{Name: "label", Usage: "free text recorded with the run, shown by ps, usable by kill"},
		&cli.BoolFlag{Name: "passthrough", Usage: "never interpose on stdio (no session id from stream-json)"},
		&cli.BoolFlag{Name: "strict", Usage: "fail (exit 1) instead of running unrecorded when the registry is unusable"},
		&cli.BoolFlag{Name: "no-watchdog", Usage: "do not start the watchdog that reaps the run if the guard is killed"},
	}
}

// guardCmd is `claude-guard [options] COMMAND` and `claude-guard run`.
type guardCmd struct {
	cfg launcher.Config
}

func (g guardCmd) Run() error {
	if code := guard(g.cfg); code != 0 {
		return exitError{code}
	}
	return nil
}

func guardAction(c *cli.Context) error {
	if c.NArg() == 0 {
		if c.Command.Name == "run" {
			return usageError{errors.New("run: no command given")}
		}
		return cli.ShowAppHelp(c)
	}
	return guardCmd{cfg: launcher.Config{
		Argv:            c.Args().Slice(),
		Grace:           c.Duration("grace"),
		KeepDescendants: c.Bool("keep-descendants"),
		Label:           c.String("label"),
		Passthrough:     c.Bool("passthrough"),
		Strict:          c.Bool("strict"),
		NoWatchdog:      c.Bool("no-watchdog"),
	}}.Run()
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:         "run",
		Usage:        "run COMMAND guarded (for commands named like a subcommand)",
		UsageText:    "claude-guard run [options] [--] COMMAND [ARGS...]\n\nExample: claude-guard run --label nvim -- claude --model opus",
		Flags:        guardFlags(),
		Action:       guardAction,
		OnUsageError: onUsageError,
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, "claude-guard", versionString())
			return nil
		},
	}
}

// watchdogCommand is the detached process each run starts (hidden).
func watchdogCommand() *cli.Command {
	return &cli.Command{
		Name:   launcher.WatchdogCommand,
		Hidden: true,
		Action: func(c *cli.Context) error {
			return watchdog(c.Args().Get(0), c.Args().Get(1))
		},
	}
}

func watchdog(dir, runID string) error {
	reg, err := pidfile.Open(dir)
	if err != nil {
		return err
	}
	return reaper.Watchdog(reg, runID, envGrace())
}
