//go:build linux

package tests

import (
	"regexp"
	"strings"
	"testing"
)

// TestUsageErrors: a bad command line exits 2 (127 for a COMMAND not found),
// writes nothing to stdout, and says what is wrong in the words the user
// typed, pointing at the help of the command they ran.
func TestUsageErrors(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string // a regexp every line of which must appear, in order
	}{
		{nil, 2, `no COMMAND given.*\n.*run 'claude-guard --help' for usage`},
		{[]string{"--label", "x"}, 2, `no COMMAND given`},
		{[]string{"--grace", "1s"}, 2, `no COMMAND given`},
		{[]string{"--grace", "5", "true"}, 2, `claude-guard: --grace: grace period "5" has no unit \(write 5s or 5ms\)\n`},
		{[]string{"-grace", "soon", "true"}, 2, `grace period "soon" is not a duration like 2s or 500ms\n`},
		{[]string{"kill", "--grace=5", "x"}, 2, `has no unit.*\n.*run 'claude-guard kill --help' for usage`},
		{[]string{"reap", "--older-than", "-1h"}, 2, `--older-than -1h0m0s: an age must be more than 0.*\n.*'claude-guard reap --help'`},
		{[]string{"reap", "--older-than", "24"}, 2, `--older-than 24: no unit \(write 24s or 24ms\)`},
		{[]string{"-older-than", "soon"}, 2, `flag provided but not defined: -older-than`},
		{[]string{"reap", "-older-than", "soon"}, 2, `-older-than soon: not a duration like 2s or 500ms`},
		{[]string{"log", "-n", "x"}, 2, `-n x: not a whole number`},
		{[]string{"--bogus", "true"}, 2, `flag provided but not defined: --bogus\n`},
		{[]string{"ps", "--bogus"}, 2, `flag provided but not defined: --bogus\n.*'claude-guard ps --help'`},
		{[]string{"pss"}, 127, `pss: command not found\n.*did you mean .claude-guard ps.\?`},
		{[]string{"doctr"}, 127, `did you mean .claude-guard doctor.\?`},
		{[]string{"help"}, 127, `help: command not found\n.*did you mean .claude-guard --help.\?`},
		{[]string{"no-such-command-xyz"}, 127, `^claude-guard: no-such-command-xyz: command not found\n$`},
		{[]string{"kill", "help"}, 1, `no guarded run matches "help"`},
	} {
		out, stderr, code := f.run(c.args...)
		if code != c.code || !regexp.MustCompile(c.stderr).MatchString(stderr) || out != "" {
			t.Errorf("claude-guard %s: exit %d, want %d; stderr %q, want /%s/; stdout %q",
				strings.Join(c.args, " "), code, c.code, stderr, c.stderr, out)
		}
	}
}

// TestVersionSpellings: `version` and `--version` print the same line.
func TestVersionSpellings(t *testing.T) {
	f := newFixture(t)
	a, _, c1 := f.run("version")
	b, _, c2 := f.run("--version")
	if c1 != 0 || c2 != 0 || a != b || !strings.HasPrefix(a, "claude-guard ") {
		t.Errorf("version: %q (exit %d); --version: %q (exit %d)", a, c1, b, c2)
	}
}
