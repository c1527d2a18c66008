package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// guard runs one guarded command and returns the exit status to end with. A
// child killed by a signal is mirrored by raising that signal.
func guard(cfg launcher.Config) int {
	launcher.OneCPU()
	sigs := make(chan os.Signal, 32)
	cfg.Signals, cfg.SignalsUp = sigs, launcher.NotifySignals(sigs)
	cfg.Warn = warn
	// The signals stay caught until the exit: stopping them is a round
	// trip per signal too, and Raise sets the one it needs to default.
	st, err := launcher.Run(cfg)
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
		&cli.BoolFlag{Name: "no-watchdog", Usage: "do not have the run watched (by the registry's watcher or a watchdog) should the guard be killed"},
	}
}

// guardCmd is `claude-guard [options] COMMAND` and `claude-guard run`.
type guardCmd struct {
	cfg         launcher.Config
	subcommands []string // for a hint when COMMAND is a mistyped one
}

func (g guardCmd) Run() error {
	code := guard(g.cfg)
	if code == 127 {
		if g.cfg.Argv[0] == "help" {
			warn("did you mean `claude-guard --help`?")
		} else if sub := mistyped(g.cfg.Argv[0], g.subcommands); sub != "" {
			warn("did you mean `claude-guard %s`?", sub)
		}
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// mistyped returns the subcommand name, if any, that is one or two edits
// from a COMMAND that was not found (pss, kil, doctr).
func mistyped(name string, subs []string) string {
	if strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/') {
		return ""
	}
	if _, err := exec.LookPath(name); err == nil {
		return "" // found: it exited 127 itself
	}
	best, bestDist := "", 3
	for _, c := range subs {
		if d := editDistance(name, c); d < bestDist && d < len(c) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func guardAction(c *cli.Context) error {
	catchSIGPIPE()
	if c.NArg() == 0 {
		if c.Command.Name == "run" {
			return usageError{errors.New("run: no command given")}
		}
		return usageError{errors.New("no COMMAND given: claude-guard [options] COMMAND [ARGS...], e.g. claude-guard claude")}
	}
	return guardCmd{subcommands: visibleCommands(c.App), cfg: launcher.Config{
		Argv:            c.Args().Slice(),
		Grace:           graceOf(c),
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
			printVersion(c)
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

// watcherCommand is the registry's watcher, started by the first guard that
// finds none (hidden).
func watcherCommand() *cli.Command {
	return &cli.Command{
		Name:   launcher.WatcherCommand,
		Hidden: true,
		Action: func(c *cli.Context) error {
			return watcher(c.Args().Get(0))
		},
	}
}

// watcher serves the registry in dir until idle (CLAUDE_GUARD_WATCHER_IDLE,
// a duration, 10s by default). A guard that started it passes a pipe as
// descriptor 3, closed once it listens.
func watcher(dir string) error {
	reg, err := pidfile.Open(dir)
	if err != nil {
		return err
	}
	idle := reaper.WatcherIdle
	if v := os.Getenv(launcher.WatcherIdleEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			idle = d
		}
	}
	var ready *os.File
	if _, err := os.Stat("/proc/self/fd/3"); err == nil {
		ready = os.NewFile(3, "ready")
	}
	return reaper.Serve(reg, envGrace(), idle, ready)
}

// daemonWatchCommand watches claude's background daemon of one
// configuration (its own entry in the registry) until it ends.
func daemonWatchCommand() *cli.Command {
	return &cli.Command{
		Name:   launcher.DaemonWatchCommand,
		Hidden: true,
		Action: func(c *cli.Context) error {
			reg, err := pidfile.Open(c.Args().Get(0))
			if err != nil {
				return err
			}
			return reaper.WatchDaemon(reg, c.Args().Get(1), envGrace())
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

// visibleCommands names the subcommands a user can have meant.
func visibleCommands(app *cli.App) []string {
	var names []string
	for _, c := range app.VisibleCommands() {
		names = append(names, c.Name)
	}
	return names
}
