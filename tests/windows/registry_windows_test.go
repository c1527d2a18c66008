package wintest

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

// A run's entry is rewritten (its session id, its tree) while ps and reap
// read it: no write may be lost to a reader holding the file. Under Wine a
// rename over a file open elsewhere is refused even with delete sharing;
// without retries, some of these 200 writes always failed.
func TestEntryWriteWhileRead(t *testing.T) {
	f := newFixture(t)
	reg, err := pidfile.Open(f.path("registry"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := reg.Create(pidfile.NewRunID())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	e := pidfile.Entry{PID: os.Getpid(), GuardPID: os.Getpid()}
	if err := h.Write(&e); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			if _, err := reg.Read(h.ID()); err == nil {
				reads.Add(1)
			}
			// Paced like ps in a loop: the entry is open a good part of
			// the time, not all of it.
			time.Sleep(time.Millisecond)
		}
	}()
	for i := range 200 {
		e.SessionID = "session-" + string(rune('a'+i%26))
		if err := h.Write(&e); err != nil {
			stop.Store(true)
			<-done
			t.Fatalf("write %d while a reader reads: %v", i, err)
		}
	}
	stop.Store(true)
	<-done
	if reads.Load() == 0 {
		t.Fatal("the reader never read: the test tested nothing")
	}
}
