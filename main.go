// Command claude-guard runs claude (or any command) so that nothing it starts
// outlives it, records every run, and reaps what crashed runs left behind.
//
// Output policy: in guard mode stdout belongs to the child; everything the
// guard says goes to stderr, prefixed "claude-guard: ", lowercase, no final
// period. main is the only place that exits.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// Set by the release build's ldflags.
var version, commit, date string

func main() {
	os.Exit(realMain(os.Args))
}

func realMain(args []string) int {
	if isShim(args[0]) {
		return guard(launcher.Config{Argv: append([]string{"claude"}, args[1:]...), Grace: envGrace(), Shim: true})
	}
	app := newApp()
	err := app.Run(normalizeArgs(app, args))
	return exitCode(err)
}

// isShim reports whether the binary runs under the name claude: then it acts
// as `claude-guard claude ARGS...`, reading no options of its own.
func isShim(arg0 string) bool {
	base := filepath.Base(arg0)
	if runtime.GOOS == "windows" {
		base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	}
	return base == "claude"
}

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "claude-guard: "+format+"\n", args...)
}

// usageError is a bad command line: exit 2, nothing started.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// exitError carries an exit status out of an Action.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		warn("%v", ue.err)
		warn("run 'claude-guard --help' for usage")
		return 2
	default:
		warn("%v", err)
		return 1
	}
}

func envGrace() time.Duration {
	if s := os.Getenv("CLAUDE_GUARD_GRACE"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return d
		}
		warn("ignoring CLAUDE_GUARD_GRACE=%q: not a duration like 2s or 500ms", s)
	}
	return 2 * time.Second
}

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

func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	if commit != "" {
		v += " (" + commit + ", " + date + ")"
	}
	return v
}

func guardFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "grace", Value: 2 * time.Second, EnvVars: []string{"CLAUDE_GUARD_GRACE"},
			Usage: "time between the polite signal and SIGKILL when ending the run"},
		&cli.BoolFlag{Name: "keep-descendants", Usage: "leave what the command left behind after a normal exit"},
		&cli.StringFlag{Name: "label", Usage: "free text recorded with the run, shown by ps, usable by kill"},
		&cli.BoolFlag{Name: "passthrough", Usage: "never interpose on stdio (no session id from stream-json)"},
		&cli.BoolFlag{Name: "strict", Usage: "fail (exit 1) instead of running unrecorded when the registry is unusable"},
		&cli.BoolFlag{Name: "no-watchdog", Usage: "do not start the watchdog that reaps the run if the guard is killed"},
	}
}

func guardAction(c *cli.Context) error {
	if c.NArg() == 0 {
		if c.Command.Name == "run" {
			return usageError{errors.New("run: no command given")}
		}
		return cli.ShowAppHelp(c)
	}
	code := guard(launcher.Config{
		Argv:            c.Args().Slice(),
		Grace:           c.Duration("grace"),
		KeepDescendants: c.Bool("keep-descendants"),
		Label:           c.String("label"),
		Passthrough:     c.Bool("passthrough"),
		Strict:          c.Bool("strict"),
		NoWatchdog:      c.Bool("no-watchdog"),
	})
	if code != 0 {
		return exitError{code}
	}
	return nil
}

func newApp() *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	return &cli.App{
		Name:      "claude-guard",
		Usage:     "run claude so that nothing it starts outlives it",
		UsageText: "claude-guard [options] COMMAND [ARGS...]\nclaude-guard run [options] [--] COMMAND [ARGS...]\nclaude-guard ps | reap | kill | version",
		Description: "Everything from COMMAND on is passed through verbatim.\n" +
			"Example: alias claude='claude-guard claude'",
		Version:         versionString(),
		HideHelpCommand: true,
		Flags:           guardFlags(),
		Action:          guardAction,
		Writer:          os.Stdout,
		ErrWriter:       os.Stderr,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			{
				Name:      "run",
				Usage:     "run COMMAND guarded (for commands named like a subcommand)",
				UsageText: "claude-guard run [options] [--] COMMAND [ARGS...]\n\nExample: claude-guard run --label nvim -- claude --model opus",
				Flags:     guardFlags(),
				Action:    guardAction,
				OnUsageError: func(c *cli.Context, err error, _ bool) error {
					return usageError{err}
				},
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, "claude-guard", versionString())
					return nil
				},
			},
			psCommand(),
			reapCommand(),
			killCommand(),
			{
				Name:   launcher.WatchdogCommand,
				Hidden: true,
				Action: func(c *cli.Context) error {
					return watchdog(c.Args().Get(0), c.Args().Get(1))
				},
			},
		},
	}
}

// normalizeArgs makes "claude-guard [options] -- COMMAND" mean run, so a
// COMMAND named like a subcommand (ps) is still run, not taken as one.
func normalizeArgs(app *cli.App, args []string) []string {
	valued := map[string]bool{}
	for _, f := range app.Flags {
		if _, ok := f.(*cli.BoolFlag); !ok {
			for _, n := range f.Names() {
				valued["-"+n], valued["--"+n] = true, true
			}
		}
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(append([]string{args[0], "run"}, args[1:i]...), append([]string{"--"}, args[i+1:]...)...)
		case strings.HasPrefix(a, "-") && a != "-":
			if valued[a] {
				i++
			}
		default:
			return args
		}
	}
	return args
}

func watchdog(dir, runID string) error {
	reg, err := pidfile.Open(dir)
	if err != nil {
		return err
	}
	// The startup reap of earlier crashes runs here, off the launch path.
	reaper.Stale(reg, envGrace(), false)
	_, err = reaper.Watch(reg, runID, envGrace())
	return err
}

// openRegistry opens the registry for ps, reap and kill; a refused one is an
// error (exit 1) that says how to fix it.
func openRegistry() (*pidfile.Registry, error) {
	dir, err := pidfile.Dir()
	if err != nil {
		return nil, err
	}
	return pidfile.Open(dir)
}

func warnAll(errs []error) {
	for _, err := range errs {
		warn("%v", err)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("ps: unexpected argument %q", c.Args().First())}
			}
			reg, err := openRegistry()
			if err != nil {
				return err
			}
			rows, errs := reaper.Rows(reg, c.Bool("all"))
			warnAll(errs)
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rows)
			}
			tty := isatty.IsTerminal(os.Stdout.Fd())
			reaper.WriteTable(c.App.Writer, rows, tty && os.Getenv("NO_COLOR") == "", termWidth(), time.Now())
			return nil
		},
	}
}

func reapCommand() *cli.Command {
	return &cli.Command{
		Name:      "reap",
		Usage:     "end what crashed runs left behind",
		UsageText: "claude-guard reap [--dry-run] [--json] [--older-than DURATION] [--unguarded]\n\nExample: claude-guard reap --dry-run --unguarded",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be signalled; signal nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.DurationFlag{Name: "older-than", Usage: "also end live runs older than this (e.g. 24h)"},
			&cli.BoolFlag{Name: "unguarded", Usage: "also end orphaned claude trees no guard launched"},
			&cli.DurationFlag{Name: "grace", Value: 2 * time.Second, EnvVars: []string{"CLAUDE_GUARD_GRACE"}, Usage: "time between SIGTERM and SIGKILL"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("reap: unexpected argument %q", c.Args().First())}
			}
			reg, err := openRegistry()
			if err != nil {
				return err
			}
			res, errs := reaper.Reap(reg, reaper.Options{Grace: c.Duration("grace"), DryRun: c.Bool("dry-run"),
				OlderThan: c.Duration("older-than"), Unguarded: c.Bool("unguarded")})
			warnAll(errs)
			if err := writeResults(c, res); err != nil {
				return err
			}
			if len(errs) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "end guarded runs and everything they started",
		UsageText: "claude-guard kill [--signal SIG] [--grace D] TARGET... | --all\n\nTARGET is a run id or unique prefix, a session id, a child pid or a label.\nExample: claude-guard kill --label nvim",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "end every guarded run"},
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "TERM", Usage: "polite signal sent first"},
			&cli.DurationFlag{Name: "grace", Value: 2 * time.Second, EnvVars: []string{"CLAUDE_GUARD_GRACE"}, Usage: "time before SIGKILL"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 && !c.Bool("all") {
				return usageError{errors.New("kill: name a TARGET (run id, session id, pid, label) or --all")}
			}
			sig, err := parseSignal(c.String("signal"))
			if err != nil {
				return usageError{err}
			}
			reg, err := openRegistry()
			if err != nil {
				return err
			}
			res, err := reaper.Kill(reg, c.Args().Slice(), c.Bool("all"), sig, c.Duration("grace"))
			if werr := writeResults(c, res); werr != nil {
				return werr
			}
			return err
		},
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error { return usageError{err} }

func writeResults(c *cli.Context, res []reaper.Result) error {
	if c.Bool("json") {
		if res == nil {
			res = []reaper.Result{}
		}
		return writeJSON(c.App.Writer, res)
	}
	for _, r := range res {
		verb := "ended"
		if r.DryRun {
			verb = "would end"
		}
		name := r.RunID
		if name == "" {
			name = "session " + r.SessionID
		}
		fmt.Fprintf(c.App.Writer, "%s %s (%s): %d signalled, %d killed after grace%s\n", verb, name, r.Why,
			len(r.Termed), len(r.Killed), pidList(r.Termed, r.Killed))
	}
	return nil
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

func parseSignal(s string) (syscall.Signal, error) {
	s = strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGKILL, syscall.SIGQUIT} {
		if strings.TrimPrefix(strings.ToUpper(sig.String()), "SIG") == s || sigName(sig) == s {
			return sig, nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q (use TERM, INT, HUP, KILL, QUIT or a number)", s)
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGQUIT:
		return "QUIT"
	}
	return ""
}

func termWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}
