//go:build unix

package pidfile

import (
	"os"
	"testing"
)

// A run's first entry is written into its lock file and linked under the
// entry's name: a launch makes one file, not two. Later writes replace the
// entry as before, and the lock stays the lock.
func TestFirstEntryIsTheLockFile(t *testing.T) {
	reg, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := NewRunID()
	h, err := reg.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	same := func() bool {
		a, err1 := os.Stat(reg.entryPath(id))
		b, err2 := os.Stat(reg.lockPath(id))
		return err1 == nil && err2 == nil && os.SameFile(a, b)
	}
	if err := h.Write(&Entry{PID: 5, Argv: []string{"first"}}); err != nil {
		t.Fatal(err)
	}
	if !same() {
		t.Error("the first entry is a file of its own")
	}
	if e, err := reg.Read(id); err != nil || e.PID != 5 || e.Argv[0] != "first" {
		t.Fatalf("first entry read back: %+v %v", e, err)
	}
	if err := h.Write(&Entry{PID: 6, Argv: []string{"second"}}); err != nil {
		t.Fatal(err)
	}
	if same() {
		t.Error("a later entry was written into the lock file")
	}
	if e, err := reg.Read(id); err != nil || e.PID != 6 || e.Argv[0] != "second" {
		t.Fatalf("second entry read back: %+v %v", e, err)
	}
	if _, err := reg.TryLock(id); err != ErrLive {
		t.Fatalf("TryLock of a held run after both writes: %v", err)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(reg.Path()); len(names) != 1 || names[0].Name() != MarkerFile {
		t.Fatalf("files left: %v", names)
	}
}

// A lock taken over from a dead guard (TryLock) is not a new run's: its
// first write replaces the entry and leaves the lock file as it was.
func TestTakenLockWritesAFileOfItsOwn(t *testing.T) {
	reg, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := NewRunID()
	h, err := reg.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Write(&Entry{PID: 5}); err != nil {
		t.Fatal(err)
	}
	h.Close()
	h2, err := reg.TryLock(id)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Remove()
	if err := h2.Write(&Entry{PID: 7}); err != nil {
		t.Fatal(err)
	}
	if e, err := reg.Read(id); err != nil || e.PID != 7 {
		t.Fatalf("entry read back: %+v %v", e, err)
	}
}
