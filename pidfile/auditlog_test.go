package pidfile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestAuditAppendsJSONLines(t *testing.T) {
	dir := t.TempDir()
	Audit(dir, Event{Event: EventWatchdog, RunID: "r1", SessionID: "s1", Signal: "TERM", PIDs: []int{3, 4}, Why: "w"})
	Audit(dir, Event{Event: EventSIGKILL, RunID: "r1", Signal: "KILL", PIDs: []int{4}})
	lines, err := ReadAudit(dir, 0)
	if err != nil || len(lines) != 2 {
		t.Fatalf("ReadAudit = %d lines, %v; want 2", len(lines), err)
	}
	var ev Event
	if err := json.Unmarshal(lines[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event != EventWatchdog || ev.RunID != "r1" || len(ev.PIDs) != 2 || ev.Time.IsZero() {
		t.Errorf("first event = %+v", ev)
	}
	if last, _ := ReadAudit(dir, 1); len(last) != 1 || !strings.Contains(string(last[0]), `"sigkill"`) {
		t.Errorf("ReadAudit(1) = %q, want the newest line", last)
	}
	if fi, err := os.Stat(AuditPath(dir)); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("log mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestAuditRotatesAtCap(t *testing.T) {
	dir := t.TempDir()
	filler := strings.Repeat(`{"event":"filler"}`+"\n", AuditMax/19)
	if err := os.WriteFile(AuditPath(dir), []byte(filler), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		Audit(dir, Event{Event: EventReap, RunID: "after"})
	}
	cur, _ := os.Stat(AuditPath(dir))
	old, err := os.Stat(AuditPath(dir) + ".1")
	if err != nil || cur.Size() > 1024 || old.Size() > AuditMax {
		t.Fatalf("after rotation: current %d bytes, old %v (%v)", cur.Size(), old, err)
	}
	lines, _ := ReadAudit(dir, 3)
	for _, l := range lines {
		if !strings.Contains(string(l), `"after"`) {
			t.Errorf("newest lines = %q", lines)
		}
	}
}

func TestAuditNeverFollowsSymlinksNorFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on windows")
	}
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("x\n"), 0o600)
	if err := os.Symlink(target, AuditPath(dir)); err != nil {
		t.Fatal(err)
	}
	Audit(dir, Event{Event: EventReap}) // must not panic nor write through
	if b, _ := os.ReadFile(target); string(b) != "x\n" {
		t.Errorf("symlink followed: target now %q", b)
	}
	os.Remove(AuditPath(dir))
	os.Mkdir(AuditPath(dir), 0o700)
	Audit(dir, Event{Event: EventReap}) // a directory in the way: dropped
}

func TestFollowAudit(t *testing.T) {
	dir := t.TempDir()
	Audit(dir, Event{Event: EventReap, RunID: "before"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 10)
	done := make(chan error)
	go func() {
		done <- FollowAudit(ctx, dir, 0, 5*time.Millisecond, func(l []byte) { got <- string(l) })
	}()
	want := func(s string) {
		t.Helper()
		select {
		case l := <-got:
			if !strings.Contains(l, s) {
				t.Fatalf("followed %q, want %s", l, s)
			}
		case <-ctx.Done():
			t.Fatalf("no line with %s", s)
		}
	}
	want("before")
	Audit(dir, Event{Event: EventReap, RunID: "appended"})
	want("appended")
	// a rotation is followed to the new file
	os.Rename(AuditPath(dir), AuditPath(dir)+".1")
	Audit(dir, Event{Event: EventReap, RunID: "rotated"})
	want("rotated")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
