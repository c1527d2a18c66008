package launcher

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestShellInitQuotesThePath(t *testing.T) {
	for _, sh := range Shells {
		code, err := ShellInit(sh, "/opt/it's here/claude-guard")
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		want := map[string]string{
			"bash":       `command '/opt/it'\''s here/claude-guard' claude "$@"`,
			"zsh":        `command '/opt/it'\''s here/claude-guard' claude "$@"`,
			"fish":       `command '/opt/it\'s here/claude-guard' claude $argv`,
			"powershell": `& '/opt/it''s here/claude-guard' claude @args`,
		}[sh]
		if !strings.Contains(code, want) {
			t.Errorf("%s code lacks %s:\n%s", sh, want, code)
		}
	}
	if _, err := ShellInit("tcsh", "/x"); !errors.Is(err, ErrUnknownShell) {
		t.Errorf("tcsh: err = %v, want ErrUnknownShell", err)
	}
}

// TestShellInitRuns evaluates the code in each real shell, twice, with a
// stand-in guard: claude must reach it with the arguments intact. A shell
// that is not installed is skipped, except on CI.
func TestShellInitRuns(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix shells")
	}
	dir := t.TempDir()
	guard := filepath.Join(dir, "guard dir", "claude-guard")
	os.MkdirAll(filepath.Dir(guard), 0o755)
	os.WriteFile(guard, []byte("#!/bin/sh\necho \"guard: $*\"\n"), 0o755)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		t.Run(sh, func(t *testing.T) {
			if _, err := exec.LookPath(sh); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not installed (apt-get install %s)", sh, sh)
				}
				t.Skipf("%s is not installed (apt-get install %s)", sh, sh)
			}
			code, _ := ShellInit(sh, guard)
			script := filepath.Join(dir, "init."+sh)
			os.WriteFile(script, []byte(code), 0o644)
			var run string
			switch sh {
			case "fish":
				run = "source " + fishQuote(script) + "; source " + fishQuote(script) + "; claude -p 'a b'"
			default:
				run = ". " + shQuote(script) + "; . " + shQuote(script) + "; claude -p 'a b'"
			}
			out, err := exec.Command(sh, "-c", run).CombinedOutput()
			if err != nil || !regexp.MustCompile(`(?m)^guard: claude -p a b$`).Match(out) {
				t.Errorf("%s: %v\n%s", sh, err, out)
			}
		})
	}
}
