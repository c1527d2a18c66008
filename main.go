// Command claude-guard runs claude (or any command) so that nothing it starts
// outlives it, records every run, and reaps what crashed runs left behind.
//
// Output policy: in guard mode stdout belongs to the child; everything the
// guard says goes to stderr, prefixed "claude-guard: ", lowercase, no final
// period. main is the only place that exits.
//
// Each command group has a file of its own (cmd_guard.go, cmd_runs.go,
// cmd_setup.go, cmd_doctor.go, cmd_log.go): its Action copies the flags into
// a struct and calls its Run. table.go prints runs and results, usage.go
// words usage errors, completion.go answers shell completion. This file
// builds the app and maps errors to exit codes.
//
// The Go runtime's container-aware GOMAXPROCS is off: it reads the cgroup's
// CPU quota at the start anyway, and without these lines again and again for
// the life of the process (a guard's, the watcher's: 32 reads in 3 s of a
// guarded sleep and its watcher, 6 with them), for a program that waits.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/pidfile"
)

// Set by the release build's ldflags.
var version, commit, date string

func main() {
	os.Exit(realMain(os.Args))
}

func realMain(args []string) int {
	// Under the name claude (a shim) it acts as `claude-guard claude ARGS...`,
	// reading no options of its own.
	if launcher.IsClaude(args[0]) {
		return guard(launcher.Config{Argv: append([]string{"claude"}, args[1:]...), Grace: envGrace()})
	}
	if code, ok := fastPath(args); ok {
		return code
	}
	catchSIGPIPE()
	app := newApp()
	if n := len(args); n > 1 && args[n-1] == completeFlag && complete(app, args[1:n-1], app.Writer) {
		return 0
	}
	args = normalizeArgs(app, args)
	return exitCode(app.Run(args), app, args)
}

func warn(format string, args ...any) {
	catchSIGPIPE()
	fmt.Fprintf(os.Stderr, "claude-guard: "+format+"\n", args...)
}

// usageError is a bad command line: exit 2, nothing started.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// exitError carries an exit status out of an Action.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode says what went wrong, if anything, and returns the status to exit
// with. A usage error points at the help of the (sub)command in args.
func exitCode(err error, app *cli.App, args []string) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, syscall.EPIPE):
		// The reader of stdout went away (ps --json | head): quiet, as a
		// command ended by SIGPIPE is.
		return 128 + int(syscall.SIGPIPE)
	case errors.As(err, &ue):
		warn("%v", rephrase(ue.err, app, args))
		warn("run '%s --help' for usage", commandPath(app, args))
		return 2
	default:
		warn("%v", err)
		return 1
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error { return usageError{err} }

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

// printVersion is both `claude-guard version` and `claude-guard --version`.
func printVersion(c *cli.Context) {
	fmt.Fprintln(c.App.Writer, "claude-guard", versionString())
}

func newApp() *cli.App {
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	cli.VersionPrinter = printVersion
	app := &cli.App{
		Name:      "claude-guard",
		Usage:     "run claude so that nothing it starts outlives it",
		UsageText: "claude-guard [options] COMMAND [ARGS...]\nclaude-guard run [options] [--] COMMAND [ARGS...]\nclaude-guard ps | reap | kill | log | doctor | init | install-shim | completion | version",
		Description: "Everything from COMMAND on is passed through verbatim.\n" +
			"Example: alias claude='claude-guard claude'",
		Version:         versionString(),
		HideHelpCommand: true,
		Flags:           guardFlags(),
		Action:          guardAction,
		Writer:          os.Stdout,
		ErrWriter:       os.Stderr,
		OnUsageError:    onUsageError,
		ExitErrHandler:  func(*cli.Context, error) {},
		// Completion asks with a trailing --generate-bash-completion; see complete.
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			runCommand(),
			versionCommand(),
			psCommand(),
			reapCommand(),
			killCommand(),
			initCommand(),
			installShimCommand(),
			logCommand(),
			doctorCommand(),
			completionCommand(),
			watchdogCommand(),
			watcherCommand(),
			daemonWatchCommand(),
		},
	}
	for _, c := range app.Commands {
		// `kill help` names a run labelled help; --help is the help.
		c.HideHelpCommand = true
	}
	return app
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
