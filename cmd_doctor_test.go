package main

import (
	"errors"
	"testing"

	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/reaper"
)

func TestDoctorClaude(t *testing.T) {
	found := reaper.Report{Problems: []reaper.Problem{{What: "registry", Fix: "chmod 700 x"}}}
	rep := doctor("/usr/bin/claude", nil, []launcher.OnPath{{Path: "/home/u/.local/bin/claude", Guard: true},
		{Path: "/usr/bin/claude"}}, found)
	if rep.Claude.Shim != "/home/u/.local/bin/claude" || rep.Claude.Real != "/usr/bin/claude" || len(rep.Problems) != 1 {
		t.Errorf("shim first: %+v", rep)
	}

	rep = doctor("", errors.New("claude: command not found"), []launcher.OnPath{{Path: "/usr/bin/claude"},
		{Path: "/home/u/.local/bin/claude", Guard: true}}, found)
	var fixes []string
	for _, p := range rep.Problems {
		fixes = append(fixes, p.Fix)
	}
	want := []string{"npm install -g @anthropic-ai/claude-code  (or: export CLAUDE_GUARD_CLAUDE=/path/to/claude)",
		`export PATH="/home/u/.local/bin:$PATH"  (in your shell's profile)`, "chmod 700 x"}
	if len(fixes) != len(want) {
		t.Fatalf("fixes = %q, want %q", fixes, want)
	}
	for i := range want {
		if fixes[i] != want[i] {
			t.Errorf("fix %d = %q, want %q", i, fixes[i], want[i])
		}
	}
	if rep.Claude.Shim != "" || rep.Claude.Error == "" {
		t.Errorf("shim after the real claude: %+v", rep.Claude)
	}
}
