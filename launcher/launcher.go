// Package launcher runs one guarded command: it resolves the command, records
// the run in the registry, starts the command contained, hands it the
// terminal, forwards signals and stdio, waits, ends whatever the command left
// behind, and reports the command's exit status.
package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/claude-guard/claude-guard/pidfile"
)

// Config is one guarded run.
type Config struct {
	Argv            []string // the command and its arguments, verbatim
	Grace           time.Duration
	KeepDescendants bool
	Label           string
	Passthrough     bool // never interpose on stdio
	Strict          bool // fail when the registry is unusable
	NoWatchdog      bool

	// Signals carries the signals the guard receives, registered with
	// NotifySignals (SIGPIPE caught too), whose channel is SignalsUp (nil:
	// registered already, SIGPIPE included).
	Signals   <-chan os.Signal
	SignalsUp <-chan struct{}
	// Warn prints one diagnostic line to stderr.
	Warn func(format string, args ...any)
}

// Status is how the guarded command ended.
type Status struct {
	Code   int            // exit code, when Signal is 0
	Signal syscall.Signal // the signal that killed it, or 0
}

// StartError is a failure before the command started; Code is the exit
// status the guard ends with (127 not found, 126 not executable, 1 other).
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs cfg.Argv guarded and returns how it ended.
func Run(cfg Config) (Status, error) {
	if len(cfg.Argv) == 0 {
		return Status{}, &StartError{Code: 2, Err: errors.New("no command given")}
	}
	if cfg.Warn == nil {
		cfg.Warn = func(string, ...any) {}
	}
	path, err := resolve(cfg.Argv[0])
	if err != nil {
		return Status{}, err
	}
	if IsClaude(cfg.Argv[0]) && loopsBack(path) {
		// This guard is its parent guard's command, reached through path:
		// the real claude runs in its place, inside the parent's run.
		real, err := claudePast(path)
		if err != nil {
			return Status{}, err
		}
		return Status{}, startError(cfg.Argv[0], execClaude(real, cfg.Argv))
	}
	if err := checkDepth(); err != nil {
		return Status{}, err
	}
	rec, err := openRecord(cfg)
	if err != nil {
		return Status{}, &StartError{Code: 1, Err: err}
	}
	os.Setenv(childPathEnv, rec.entry.RunID+":"+path)
	return run(cfg, path, rec)
}

// NotifySignals registers Signals on c in the background and returns a
// channel closed once those that would otherwise end the guard (SIGPIPE,
// caught on a channel of its own; SIGINT, SIGTERM, SIGHUP, SIGQUIT) are
// registered: Run starts the command only then, so none of them that arrives
// while it starts is lost (runc #5208), and the guard writes nothing before
// (a write to a pipe nobody reads must fail with EPIPE, not kill the guard).
// The others (SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM) follow while the command
// starts; before that, the Go runtime ignores them, and a node process that
// has not set up its own handlers would die of a SIGUSR1 passed on anyway.
// Each registration is a round trip to the Go runtime's signal thread,
// 30-60 µs here: the registry and the cgroup are made meanwhile.
func NotifySignals(c chan<- os.Signal) <-chan struct{} {
	up := make(chan struct{})
	go func() {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
		signal.Notify(c, Signals[:fatalSignals]...)
		close(up)
		signal.Notify(c, Signals[fatalSignals:]...)
	}()
	return up
}

// isTerminal is the one place that decides whether a descriptor is a terminal.
func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// childEnv returns the environment of the child: the guard's, with the run's
// cookie appended to any outer run's, so nested guards keep both marks.
func childEnv(runID string) []string {
	env := os.Environ()
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, pidfile.CookieEnv+"="); ok {
			if v != "" {
				v += ":"
			}
			env[i] = pidfile.CookieEnv + "=" + v + runID
			return env
		}
	}
	return append(env, pidfile.CookieEnv+"="+runID)
}

// sniffStdout reports whether the guard should copy the child's stdout to
// learn the session id: only for stream-json output that is not a terminal.
func sniffStdout(cfg Config) bool {
	if cfg.Passthrough || isTerminal(os.Stdout) {
		return false
	}
	return argValue(cfg.Argv[1:], "--output-format", "") == "stream-json"
}

func errorf(code int, format string, args ...any) error {
	return &StartError{Code: code, Err: fmt.Errorf(format, args...)}
}
