package reaper

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ours drops the leaks of other work on this machine: the process table is
// shared, the rest of the report is this test's own.
func ours(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if !strings.HasPrefix(p.What, "leaked claude") {
			out = append(out, p)
		}
	}
	return out
}

func TestDoctor(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix modes")
	}
	home := filepath.Join(t.TempDir(), "registry")
	t.Setenv("CLAUDE_GUARD_HOME", home)
	t.Setenv("CLAUDE_CONFIG_DIR", t.TempDir())
	t.Setenv("CLAUDE_GUARD_GRACE", "")
	in := DoctorInput{RealClaude: "/usr/bin/claude", OnPath: []ClaudeFound{{Path: "/home/u/.local/bin/claude", Guard: true},
		{Path: "/usr/bin/claude"}}, Env: []string{"CLAUDE_GUARD_HOME", "XDG_STATE_HOME"}}

	rep := Doctor(in)
	if p := ours(rep.Problems); len(p) != 0 {
		t.Fatalf("healthy setup: problems %+v", p)
	}
	if rep.Claude.Shim != "/home/u/.local/bin/claude" || rep.Registry.Path != home || rep.Registry.Exists {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Env) != 2 || rep.Env[0].Value != home || rep.Env[1].Set && os.Getenv("XDG_STATE_HOME") == "" {
		t.Errorf("env = %+v", rep.Env)
	}
	if len(rep.Containment) != 5 {
		t.Errorf("containment = %+v", rep.Containment)
	}

	os.MkdirAll(home, 0o700)
	os.Chmod(home, 0o770)
	t.Setenv("CLAUDE_GUARD_GRACE", "soon")
	in.ClaudeErr, in.RealClaude = errors.New("claude: command not found"), ""
	in.OnPath = []ClaudeFound{{Path: "/usr/bin/claude"}, {Path: "/home/u/.local/bin/claude", Guard: true}}
	fixes := map[string]bool{}
	for _, p := range ours(Doctor(in).Problems) {
		fixes[p.Fix] = true
	}
	for _, want := range []string{"chmod 700 " + home, `export PATH="/home/u/.local/bin:$PATH"  (in your shell's profile)`,
		"export CLAUDE_GUARD_GRACE=2s", "npm install -g @anthropic-ai/claude-code  (or: export CLAUDE_GUARD_CLAUDE=/path/to/claude)"} {
		if !fixes[want] {
			t.Errorf("no problem fixed by %q; fixes: %v", want, fixes)
		}
	}
	if len(fixes) != 4 {
		t.Errorf("fixes = %v, want 4", fixes)
	}
}
