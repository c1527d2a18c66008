package pidfile

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// fillStale writes n stale runs of another boot, as a guard that died
// leaves them (the shape bench/stale writes for `ps --json`).
func fillStale(tb testing.TB, reg *Registry, n int) {
	tb.Helper()
	base := time.Now().Add(-time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%011x%08x", base+int64(i), i)
		h, err := reg.Create(id)
		if err != nil {
			tb.Fatal(err)
		}
		pid := 4194305 + i
		e := &Entry{
			GuardPID: pid, GuardStart: 1000, PID: pid + n, Start: 1001, PGID: pid + n,
			BootID: "00000000-0000-4000-8000-000000000000", Cookie: id, UID: os.Geteuid(),
			Cwd: "/tmp", Argv: []string{"claude", "-p", "benchmark", "--output-format", "stream-json"},
			StartedAt: time.UnixMilli(base + int64(i)).UTC(), GraceMS: 2000,
			Tree: []Proc{{PID: pid + 2*n, Start: 1002}},
		}
		if err := h.Write(e); err != nil {
			tb.Fatal(err)
		}
		h.Close()
	}
}

// BenchmarkList10k lists a registry of 10,000 stale entries of another
// boot, as `ps` does.
func BenchmarkList10k(b *testing.B) {
	reg, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	fillStale(b, reg, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runs, bad := reg.List("11111111-1111-4111-8111-111111111111")
		if len(runs) != 10000 || len(bad) != 0 {
			b.Fatalf("%d runs, %v", len(runs), bad)
		}
	}
}
