//go:build linux

package reaper

import (
	"os/exec"
	"slices"
	"testing"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// A sweep for a run's cookie reads the environment of processes started since
// the run's guard only; a process carrying the cookie is found, one started
// before the guard is not looked at.
func TestTakeSnapshotForReadsCookiesSinceTheGuard(t *testing.T) {
	runID := pidfile.NewRunID()
	cmd := exec.Command("sleep", "60")
	cmd.Env = []string{pidfile.CookieEnv + "=" + runID}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	p, err := killtree.Lookup(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := killtree.BootID()
	if err != nil {
		t.Fatal(err)
	}
	member := func(guardStart uint64) bool {
		e := pidfile.Entry{RunID: runID, BootID: boot, GuardStart: guardStart}
		s, err := TakeSnapshotFor(e)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(s.Members(e), func(q killtree.Proc) bool { return q.ID == p.ID })
	}
	if !member(p.Start) {
		t.Error("a process started with the guard's tick, carrying the cookie, was not found")
	}
	if !member(0) {
		t.Error("with no guard start known, the cookie carrier was not found")
	}
	if member(p.Start + 1) {
		t.Error("a process started before the guard was taken for a member by its cookie")
	}
}
