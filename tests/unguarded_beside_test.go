//go:build linux

package tests

import (
	"strings"
	"testing"
)

// ps --all, doctor and reap --unguarded run beside a live guarded claude
// that wrote its own sessions file: the guarded claude is neither listed as
// unguarded nor ended, and none of them fails.
func TestUnguardedBesideGuarded(t *testing.T) {
	f := newFixture(t)
	g := f.guard(helperPath(t, "fakeclaude"), "sessions=sess-guarded", "pid=claude", "ready=ready", "waitfile=done")
	defer g.Wait()
	defer f.touch("done")
	claude := f.pid("claude")
	waitPath(t, f.path("ready"))
	if s := waitSession(t, f.env); s != "sess-guarded" {
		t.Fatalf("session %q", s)
	}
	for _, r := range f.psAll() {
		if r["state"] != "running" {
			t.Errorf("ps --all lists a guarded claude as %v: %v", r["state"], r)
		}
	}
	if _, stderr, code := f.run("doctor"); strings.Contains(stderr, "panic") || code > 1 {
		t.Errorf("doctor: exit %d: %s", code, stderr)
	}
	out, stderr, code := f.run("reap", "--unguarded", "--grace", "200ms")
	if code != 0 || strings.Contains(out, "sess-guarded") {
		t.Errorf("reap --unguarded: exit %d: %q %s", code, out, stderr)
	}
	if !alive(claude) {
		t.Fatal("reap --unguarded ended a guarded claude")
	}
}
