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
		catchSIGPIPE()
		return guard(launcher.Config{Argv: append([]string{"claude"}, args[1:]...), Grace: envGrace()})
	}
	if code, ok := fastPath(args); ok {
		return code
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
		graceFlag("time between the polite signal and SIGKILL when ending the run"),
		&cli.BoolFlag{Name: "keep-descendants", Usage: "leave what the command left behind after a normal exit"},
		&cli.StringFlag{Name: "label", Usage: "free text recorded with the run, shown by ps, usable by kill"},
		&cli.BoolFlag{Name: "passthrough", Usage: "never interpose on stdio (no session id from stream-json)"},
		&cli.BoolFlag{Name: "strict", Usage: "fail (exit 1) instead of running unrecorded when the registry is unusable"},
		&cli.BoolFlag{Name: "no-watchdog", Usage: "do not start the watchdog that reaps the run if the guard is killed"},
	}
}

func guardAction(c *cli.Context) error {
	catchSIGPIPE()
	if c.NArg() == 0 {
		if c.Command.Name == "run" {
			return usageError{errors.New("run: no command given")}
		}
		return cli.ShowAppHelp(c)
	}
	code := guard(launcher.Config{
		Argv:            c.Args().Slice(),
		Grace:           graceOf(c),
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
		UsageText: "claude-guard [options] COMMAND [ARGS...]\nclaude-guard run [options] [--] COMMAND [ARGS...]\nclaude-guard ps | reap | kill | log | doctor | init | install-shim | completion | version",
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
		// Completion asks with a trailing --generate-bash-completion; see completeApp.
		EnableBashCompletion: true,
		BashComplete:         completeApp,
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
			initCommand(),
			installShimCommand(),
			logCommand(),
			doctorCommand(),
			completionCommand(),
			{
				Name:   launcher.WatchdogCommand,
				Hidden: true,
				Action: func(c *cli.Context) error {
					return watchdog(c.Args().Get(0), c.Args().Get(1))
				},
			},
			{
				Name:   launcher.DaemonWatchCommand,
				Hidden: true,
				Action: func(c *cli.Context) error {
					reg, err := pidfile.Open(c.Args().Get(0))
					if err != nil {
						return err
					}
					return reaper.WatchDaemon(reg, c.Args().Get(1), envGrace())
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
	return reaper.Watchdog(reg, runID, envGrace())
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
			// A short-lived listing: trading memory for fewer collections
			// halves its time over thousands of entries.
			debug.SetGCPercent(800)
			rows, errs := reaper.Rows(reg, c.Bool("all"))
			warnAll(errs)
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rows)
			}
			tty := isatty.IsTerminal(os.Stdout.Fd())
			reaper.WriteTable(c.App.Writer, rows, tty && os.Getenv("NO_COLOR") == "", reaper.TerminalWidth(os.Stdout), time.Now())
			return nil
		},
	}
}

func reapCommand() *cli.Command {
	return &cli.Command{
		Name:      "reap",
		Usage:     "end what crashed runs left behind",
		UsageText: "claude-guard reap [--dry-run] [--json] [--older-than DURATION] [--unguarded] [--daemon]\n\nExample: claude-guard reap --dry-run --unguarded",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be signalled; signal nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.DurationFlag{Name: "older-than", Usage: "also end live runs older than this (e.g. 24h)"},
			&cli.BoolFlag{Name: "unguarded", Usage: "also end orphaned claude trees no guard launched"},
			&cli.BoolFlag{Name: "daemon", Usage: "also end claude's background daemon and its sessions (claude daemon stop, for every configuration on record)"},
			graceFlag("time between SIGTERM and SIGKILL"),
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
			res, errs := reaper.Reap(reg, reaper.Options{Grace: graceOf(c), DryRun: c.Bool("dry-run"),
				OlderThan: c.Duration("older-than"), Unguarded: c.Bool("unguarded"), Daemon: c.Bool("daemon")})
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
		UsageText: "claude-guard kill [--signal SIG] [--grace D] TARGET... | --all\n\nTARGET is a run id, a child pid, a session id, a label, or a unique prefix of a run id (4+ characters) or session id (8+);\n\"daemon\" is claude's background daemon (never included in --all).\nExample: claude-guard kill --label nvim",
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
			reg, err := openRegistry()
			if err != nil {
				return err
			}
			res, err := reaper.Kill(reg, c.Args().Slice(), c.Bool("all"), sig, graceOf(c))
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
	reaper.WriteResults(c.App.Writer, res)
	return nil
}

// ---- setup, audit log, doctor and completion (issue 7) ----

// completeApp completes the guard's own options and commands only. Once a
// COMMAND is typed the rest of the line is that command's: nothing is
// printed (the shell falls back to file names) and nothing is ever run to
// complete it. `claude-guard -- claude ... --generate-bash-completion` and the
// shim pass the word through to claude verbatim.
func completeApp(c *cli.Context) {
	if c.NArg() > 0 {
		return
	}
	cli.DefaultAppComplete(c)
}

func shellArg(c *cli.Context, cmd string) (string, error) {
	if c.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s: name one shell: %s", cmd, strings.Join(launcher.Shells, ", "))}
	}
	sh := c.Args().First()
	for _, s := range append(launcher.Shells, "pwsh") {
		if sh == s {
			return sh, nil
		}
	}
	return "", usageError{fmt.Errorf("%s: unknown shell %q; use one of %s", cmd, sh, strings.Join(launcher.Shells, ", "))}
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "print the shell code that makes claude run guarded",
		UsageText: "claude-guard init bash|zsh|fish|powershell\n\n" +
			"Examples:\n" +
			"  eval \"$(claude-guard init bash)\"     # in ~/.bashrc\n" +
			"  eval \"$(claude-guard init zsh)\"      # in ~/.zshrc\n" +
			"  claude-guard init fish | source      # in ~/.config/fish/config.fish\n" +
			"  claude-guard init powershell | Out-String | Invoke-Expression   # in $PROFILE",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			sh, err := shellArg(c, "init")
			if err != nil {
				return err
			}
			self, err := launcher.Self()
			if err != nil {
				return err
			}
			code, err := launcher.ShellInit(sh, self)
			if err != nil {
				return usageError{err}
			}
			_, err = io.WriteString(c.App.Writer, code)
			return err
		},
	}
}

func installShimCommand() *cli.Command {
	return &cli.Command{
		Name:  "install-shim",
		Usage: "make DIR/claude run claude-guard (a link to this program), for clients that start claude by name or path",
		UsageText: "claude-guard install-shim [--uninstall] [DIR]\n\n" +
			"DIR defaults to ~/.local/bin; it must come before the real claude's directory in PATH.\n" +
			"Example: claude-guard install-shim ~/.local/bin && export PATH=\"$HOME/.local/bin:$PATH\"",
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "uninstall", Usage: "remove DIR/claude if it is this program's shim, nothing else"}},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError{fmt.Errorf("install-shim: one DIR at most, got %d", c.NArg())}
			}
			dir := c.Args().First()
			if dir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("install-shim: no home directory (%v); name a DIR", err)
				}
				dir = filepath.Join(home, ".local", "bin")
			}
			if c.Bool("uninstall") {
				return uninstallShim(dir)
			}
			st, err := launcher.InstallShim(dir)
			if errors.Is(err, launcher.ErrNotShim) {
				warn("%s exists and is not claude-guard (the real claude?); refusing to overwrite it", st.Path)
				warn("hint: install the shim into a directory of its own that comes first in PATH, e.g. claude-guard install-shim ~/.local/bin")
				return exitError{1}
			}
			if err != nil {
				return err
			}
			switch {
			case !st.Created:
				warn("%s is already claude-guard's shim", st.Path)
			case st.Copied:
				warn("installed %s (a copy of this program: links are not possible here; reinstall it after upgrading claude-guard)", st.Path)
			default:
				warn("installed %s (a link to this program)", st.Path)
			}
			reportShimPath(st, filepath.Dir(st.Path))
			return nil
		},
	}
}

func reportShimPath(st launcher.ShimState, dir string) {
	realDir := "the real claude's directory"
	if st.RealClaude != "" {
		realDir = filepath.Dir(st.RealClaude)
	}
	switch {
	case !st.OnPath:
		warn("%s is not on PATH: add it before %s, e.g. in your shell profile: export PATH=\"%s%c$PATH\"", dir, realDir, dir, os.PathListSeparator)
	case st.Shadowed:
		warn("PATH has %s before %s, so claude is still the real one: put %s first, e.g. export PATH=\"%s%c$PATH\"", realDir, dir, dir, dir, os.PathListSeparator)
	default:
		warn("PATH is in order (%s comes first): claude now runs guarded", dir)
	}
	if st.RealClaude == "" {
		warn("no real claude found yet: install it (npm install -g @anthropic-ai/claude-code) or set CLAUDE_GUARD_CLAUDE")
	} else {
		warn("the shim runs %s", st.RealClaude)
	}
}

func uninstallShim(dir string) error {
	path, removed, err := launcher.UninstallShim(dir)
	switch {
	case errors.Is(err, launcher.ErrNotShim):
		warn("%s is not claude-guard's shim; leaving it alone", path)
		return exitError{1}
	case err != nil:
		return err
	case removed:
		warn("removed %s", path)
	default:
		warn("no shim at %s; nothing removed", path)
	}
	return nil
}

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
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("log: unexpected argument %q", c.Args().First())}
			}
			if c.Int("n") < 0 {
				return usageError{errors.New("log: -n takes a count, 0 or more")}
			}
			dir, err := pidfile.Dir()
			if err != nil {
				return err
			}
			show := func(line []byte) {
				if c.Bool("json") {
					fmt.Fprintf(c.App.Writer, "%s\n", line)
				} else {
					fmt.Fprintln(c.App.Writer, pidfile.FormatEvent(line))
				}
			}
			if !c.Bool("follow") {
				lines, err := pidfile.ReadAudit(dir, c.Int("n"))
				for _, l := range lines {
					show(l)
				}
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return pidfile.FollowAudit(ctx, dir, c.Int("n"), 200*time.Millisecond, show)
		},
	}
}

var doctorEnv = []string{"CLAUDE_GUARD_HOME", "CLAUDE_GUARD_GRACE", "CLAUDE_GUARD_CLAUDE", "CLAUDE_GUARD_CGROUP", "CLAUDE_CONFIG_DIR", "XDG_STATE_HOME"}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the setup: which claude runs, the registry, containment, leaked claude processes",
		UsageText: "claude-guard doctor [--json]\n\n" +
			"Exits 1 when something needs fixing; each problem comes with its fix.\n" +
			"Example: claude-guard doctor || claude-guard reap --unguarded --dry-run",
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError{fmt.Errorf("doctor: unexpected argument %q", c.Args().First())}
			}
			real, rerr := launcher.FindClaude()
			var onPath []reaper.ClaudeFound
			for _, p := range launcher.ClaudesOnPath() {
				onPath = append(onPath, reaper.ClaudeFound(p))
			}
			rep := reaper.Doctor(reaper.DoctorInput{RealClaude: real, ClaudeErr: rerr, OnPath: onPath, Env: doctorEnv,
				Active: reaper.Active(launcher.Containment())})
			if c.Bool("json") {
				if err := writeJSON(c.App.Writer, rep); err != nil {
					return err
				}
			} else {
				rep.WriteText(c.App.Writer)
			}
			if len(rep.Problems) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print the shell completion script for claude-guard",
		UsageText: "claude-guard completion bash|zsh|fish|powershell\n\n" +
			"Examples:\n" +
			"  source <(claude-guard completion bash)                       # in ~/.bashrc\n" +
			"  source <(claude-guard completion zsh)                        # in ~/.zshrc, after compinit\n" +
			"  claude-guard completion fish > ~/.config/fish/completions/claude-guard.fish\n" +
			"  claude-guard completion powershell | Out-String | Invoke-Expression   # in $PROFILE",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			sh, err := shellArg(c, "completion")
			if err != nil {
				return err
			}
			self, err := launcher.Self()
			if err != nil {
				return err
			}
			var script string
			switch sh {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				if script, err = c.App.ToFishCompletion(); err != nil {
					return err
				}
			default:
				script = strings.ReplaceAll(powershellCompletion, "@GUARD@", strings.ReplaceAll(self, "'", "''"))
			}
			_, err = io.WriteString(c.App.Writer, script)
			return err
		},
	}
}

// bashCompletion is urfave/cli v2's autocomplete/bash_autocomplete with PROG
// set, and a fallback for systems without the bash-completion package.
const bashCompletion = `# claude-guard completion for bash. Load with: source <(claude-guard completion bash)
_cli_init_completion() {
  COMPREPLY=()
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref "$@" cur prev words cword
  else
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
}

_cli_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base words cword
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _cli_init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete claude-guard
`

// zshCompletion is urfave/cli v2's autocomplete/zsh_autocomplete with PROG set.
const zshCompletion = `#compdef claude-guard
# claude-guard completion for zsh. Load with: source <(claude-guard completion zsh)

_cli_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _cli_zsh_autocomplete claude-guard
`

// powershellCompletion asks the guard for the words that can follow, the
// way the bash script does.
const powershellCompletion = `# claude-guard completion for PowerShell. Load with: claude-guard completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'claude-guard', 'claude-guard.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition -or ($_.Extent.EndOffset -eq $cursorPosition -and $wordToComplete -eq '') } |
        ForEach-Object { $_.ToString() })
    if ($wordToComplete.StartsWith('-')) { $words += $wordToComplete }
    & '@GUARD@' @words --generate-bash-completion 2>$null |
        Where-Object { $_ -like "$wordToComplete*" } |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
`
