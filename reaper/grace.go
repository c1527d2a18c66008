package reaper

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// DefaultGrace is the time between the polite signal and SIGKILL when none
// is given.
const DefaultGrace = 2 * time.Second

// GraceEnv is the environment variable that sets the grace period.
const GraceEnv = "CLAUDE_GUARD_GRACE"

// ParseGrace is the one parser of grace periods, for --grace and
// CLAUDE_GUARD_GRACE alike: a Go duration (2s, 500ms, 1m30s), not negative.
func ParseGrace(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("grace period %q has no unit (write %ss or %sms)", s, s, s)
		}
		return 0, fmt.Errorf("grace period %q is not a duration like 2s or 500ms", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("grace period %v cannot be negative", d)
	}
	return d, nil
}

// EnvGrace returns the grace period CLAUDE_GUARD_GRACE sets, else
// DefaultGrace. An invalid value is DefaultGrace too, with the error, for
// the caller to warn about: a typo in a shell's rc file must never stop
// claude from starting.
func EnvGrace() (time.Duration, error) {
	s := os.Getenv(GraceEnv)
	if s == "" {
		return DefaultGrace, nil
	}
	d, err := ParseGrace(s)
	if err != nil {
		return DefaultGrace, err
	}
	return d, nil
}
