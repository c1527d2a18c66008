//go:build linux

package reaper

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
)

// An entry whose lock file is gone reads as running while the guard it
// records lives, and is never reaped then; once that guard is gone it is
// stale, and reap ends its processes and removes it.
func TestEntryWithoutLock(t *testing.T) {
	reg, err := pidfile.Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	go child.Wait()
	c, err := killtree.Lookup(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := killtree.Lookup(os.Getpid())
	boot, _ := killtree.BootID()
	id := pidfile.NewRunID()
	h, _ := reg.Create(id)
	e := pidfile.Entry{PID: c.PID, Start: c.Start, GuardPID: self.PID, GuardStart: self.Start, BootID: boot,
		Tree: []pidfile.Proc{{PID: c.PID, Start: c.Start}}}
	if err := h.Write(&e); err != nil {
		t.Fatal(err)
	}
	h.Close()
	os.Remove(filepath.Join(reg.Path(), id+".lock"))

	// the recorded guard (this test) lives: running, left alone
	rows, _ := Rows(reg, false)
	if len(rows) != 1 || rows[0].State != "running" {
		t.Fatalf("rows %+v", rows)
	}
	if res, errs := ReapStale(reg, 100*time.Millisecond, false); len(res)+len(errs) != 0 || !killtree.Alive(c.ID) {
		t.Fatalf("reaped a run whose guard lives: %v %v", res, errs)
	}

	// the guard it records is gone: stale, reaped, removed
	h, _ = reg.TryLock(id)
	if h != nil {
		t.Fatal("a lock file appeared")
	}
	e.GuardStart++ // another process than the recorded guard
	os.WriteFile(filepath.Join(reg.Path(), id+".lock"), nil, 0o600)
	h, err = reg.TryLock(id)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(&e)
	h.Close()
	os.Remove(filepath.Join(reg.Path(), id+".lock"))
	if rows, _ := Rows(reg, false); len(rows) != 1 || rows[0].State != "stale" {
		t.Fatalf("rows %+v", rows)
	}
	res, errs := ReapStale(reg, 100*time.Millisecond, false)
	if len(errs) != 0 || len(res) != 1 || len(res[0].Termed) != 1 || res[0].Termed[0] != c.ID {
		t.Fatalf("reap: %+v %v", res, errs)
	}
	if rows, _ := Rows(reg, false); len(rows) != 0 {
		t.Fatalf("left: %+v", rows)
	}
	if _, err := os.Lstat(filepath.Join(reg.Path(), id+".json")); err == nil {
		t.Fatal("entry not removed")
	}
}
