package wintest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

// The audit log is rotated past pidfile.AuditMax on Windows too, while a
// follower (claude-guard log --follow) holds it open, and the follower goes
// on with the new file.
func TestAuditRotation(t *testing.T) {
	f := newFixture(t)
	dir := f.path("registry")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pidfile.Audit(dir, pidfile.Event{Event: pidfile.EventReap, RunID: "first"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		pidfile.FollowAudit(ctx, dir, 0, 5*time.Millisecond, func(l []byte) {
			mu.Lock()
			seen = append(seen, string(l))
			mu.Unlock()
		})
	}()
	f.until("the follower's first line", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0
	})
	why := strings.Repeat("x", 16<<10)
	n := 2*pidfile.AuditMax/len(why) + 1
	for i := range n {
		pidfile.Audit(dir, pidfile.Event{Event: pidfile.EventReap, RunID: "run" + strconv.Itoa(i), Why: why})
	}
	if _, err := os.Stat(filepath.Join(dir, pidfile.AuditFile+".1")); err != nil {
		t.Fatalf("no rotation: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, pidfile.AuditFile))
	if err != nil || fi.Size() > pidfile.AuditMax {
		t.Fatalf("audit.log after rotation: %v, %v", fi, err)
	}
	last := `"run_id":"run` + strconv.Itoa(n-1) + `"`
	f.until("the follower to read the last line past the rotation", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && strings.Contains(seen[len(seen)-1], last)
	})
	cancel()
	<-done
}
