package reaper

import (
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
	env := []string{"CLAUDE_GUARD_HOME", "XDG_STATE_HOME"}

	rep := Doctor(env)
	if p := ours(rep.Problems); len(p) != 0 {
		t.Fatalf("healthy setup: problems %+v", p)
	}
	if rep.Registry.Path != home || rep.Registry.Exists {
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
	fixes := map[string]bool{}
	for _, p := range ours(Doctor(env).Problems) {
		fixes[p.Fix] = true
	}
	for _, want := range []string{"chmod 700 " + home, "export CLAUDE_GUARD_GRACE=2s"} {
		if !fixes[want] {
			t.Errorf("no problem fixed by %q; fixes: %v", want, fixes)
		}
	}
	if len(fixes) != 2 {
		t.Errorf("fixes = %v, want 2", fixes)
	}
}
