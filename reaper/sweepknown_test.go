//go:build linux

package reaper

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/claude-guard/claude-guard/pidfile"
)

// The watcher's sweep takes the runs it saw end, and only those: a run with
// a free lock it was not told of is left to the next startup reap, which
// takes it.
func TestReapKnownTakesOnlyKnownRuns(t *testing.T) {
	reg, err := pidfile.Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	handOff := func() string {
		id := pidfile.NewRunID()
		h, err := reg.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.HandOff(); err != nil { // a guard's clean end: the lock file stays, free
			t.Fatal(err)
		}
		return id
	}
	known, other := handOff(), handOff()
	lock := func(id string) string { return filepath.Join(reg.Path(), id+".lock") }
	if errs := reapKnown(reg, 0, map[string]pidfile.Entry{known: {RunID: known}}); len(errs) != 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(lock(known)); !os.IsNotExist(err) {
		t.Errorf("the known run's lock file is still there: %v", err)
	}
	if _, err := os.Stat(lock(other)); err != nil {
		t.Fatalf("the sweep took a run it was not told of: %v", err)
	}
	if errs := startupReap(reg, 0, nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(lock(other)); !os.IsNotExist(err) {
		t.Errorf("the startup reap left the other run: %v", err)
	}
}
