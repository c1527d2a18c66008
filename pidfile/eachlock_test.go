package pidfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EachLock walks a registry larger than its batch and names every run with a
// lock file exactly once, nothing else.
func TestEachLockNamesEveryRunOnce(t *testing.T) {
	reg, err := Open(filepath.Join(t.TempDir(), "reg"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("%011x%08x", 1000+i, i)
		h, err := reg.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := h.Write(&Entry{}); err != nil {
				t.Fatal(err)
			}
		}
		h.Close()
		want[id] = true
	}
	os.WriteFile(filepath.Join(reg.Path(), "not-a-run.lock"), nil, 0o600)
	seen := map[string]int{}
	batches := 0
	if err := reg.EachLock(64, func(ids []string) bool {
		batches++
		for _, id := range ids {
			seen[id]++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) || batches < 300/64 {
		t.Fatalf("%d runs in %d batches, want %d runs in at least %d", len(seen), batches, len(want), 300/64)
	}
	for id, n := range seen {
		if !want[id] || n != 1 {
			t.Errorf("run %s named %d times (a run: %v)", id, n, want[id])
		}
	}
}
