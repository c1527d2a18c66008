package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/reaper"
)

// Grace periods have one parser (reaper.ParseGrace) and one policy: a bad
// --grace is a usage error (exit 2, nothing started), typed by the person at
// hand; a bad CLAUDE_GUARD_GRACE, set once in some rc file, is a warning and
// the default, wherever a command runs (alias, wrapper, shim, run) and for
// reap and kill too.

// graceFlag is --grace, validated by the one parser.
func graceFlag(usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "grace", Value: reaper.DefaultGrace.String(), Usage: usage,
		DefaultText: "$" + reaper.GraceEnv + ", else " + reaper.DefaultGrace.String(),
		Action: func(_ *cli.Context, s string) error {
			if _, err := reaper.ParseGrace(s); err != nil {
				return usageError{fmt.Errorf("--grace: %w", err)}
			}
			return nil
		}}
}

// graceOf returns the --grace given, else the one CLAUDE_GUARD_GRACE sets.
func graceOf(c *cli.Context) time.Duration {
	if c.IsSet("grace") {
		if d, err := reaper.ParseGrace(c.String("grace")); err == nil {
			return d
		}
	}
	return envGrace()
}

// envGrace is CLAUDE_GUARD_GRACE, or the default with a warning.
func envGrace() time.Duration {
	d, err := reaper.EnvGrace()
	if err != nil {
		warn("ignoring %s: %v; using %v", reaper.GraceEnv, err, d)
	}
	return d
}
