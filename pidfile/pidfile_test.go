package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodEntry = `{"schema":1,"run_id":"19a9bd2c0d1deadbeef","guard_pid":10,"guard_start":5,"pid":11,"start":6,"pgid":11,"boot_id":"b","cookie":"19a9bd2c0d1deadbeef","uid":0,"session_id":"s","model":"","cwd":"/","argv":["claude"],"label":"","started_at":"2026-11-25T21:00:00Z","grace_ms":2000,"tree":[{"pid":12,"start":7}]}`

func TestDecode(t *testing.T) {
	e, err := Decode([]byte(goodEntry), "19a9bd2c0d1deadbeef")
	if err != nil || e.PID != 11 || len(e.Tree) != 1 {
		t.Fatalf("%+v, %v", e, err)
	}
	for name, bad := range map[string]string{
		"empty":          "",
		"truncated":      goodEntry[:len(goodEntry)/2],
		"trailing":       goodEntry + "{}",
		"schema":         strings.Replace(goodEntry, `"schema":1`, `"schema":2`, 1),
		"foreign":        `{"hello":"world"}`,
		"other run":      strings.Replace(goodEntry, `"run_id":"19a9bd2c0d1deadbeef"`, `"run_id":"19a9bd2c0d1deadbeee"`, 1),
		"negative pid":   strings.Replace(goodEntry, `"pid":11`, `"pid":-11`, 1),
		"tree pid 0":     strings.Replace(goodEntry, `{"pid":12`, `{"pid":0`, 1),
		"not an object":  `[1,2,3]`,
		"wrong type pid": strings.Replace(goodEntry, `"pid":11`, `"pid":"11"`, 1),
	} {
		if _, err := Decode([]byte(bad), "19a9bd2c0d1deadbeef"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(goodEntry))
	f.Add([]byte(`{"schema":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b, "19a9bd2c0d1deadbeef")
		if err != nil {
			return
		}
		if e.Schema != Schema || e.RunID != "19a9bd2c0d1deadbeef" || e.PID < 0 {
			t.Fatalf("accepted %q as %+v", b, e)
		}
	})
}

func TestRunIDsSortByTime(t *testing.T) {
	a := NewRunID()
	b := NewRunID()
	if !ValidRunID(a) || !ValidRunID(b) || a == b {
		t.Fatalf("%q %q", a, b)
	}
	for _, bad := range []string{"", "../../etc/passwd", "19A9BD2C0D1DEADBEEF", "19a9bd2c0d1deadbee/"} {
		if ValidRunID(bad) {
			t.Errorf("%q valid", bad)
		}
	}
}

func TestOpenRefusesUnsafeDirectories(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if _, err := Open(real); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o700 {
		t.Errorf("created with mode %v", fi.Mode().Perm())
	}
	link := filepath.Join(base, "link")
	os.Symlink(real, link)
	if _, err := Open(link); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlinked registry: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o770)
	if _, err := Open(open); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("group-writable registry: %v", err)
	}
}

func TestLockLifecycle(t *testing.T) {
	reg, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := NewRunID()
	h, err := reg.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Write(&Entry{PID: 5, Argv: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if !reg.Live(id) {
		t.Fatal("held lock reads as free")
	}
	if _, err := reg.TryLock(id); !errors.Is(err, ErrLive) {
		t.Fatalf("TryLock on a live run: %v", err)
	}
	runs, bad := reg.List("")
	if len(runs) != 1 || !runs[0].Live || len(bad) != 0 {
		t.Fatalf("%+v %v", runs, bad)
	}
	h.Close() // the guard dies: its lock goes
	runs, _ = reg.List("")
	if len(runs) != 1 || runs[0].Live {
		t.Fatalf("dead guard's run: %+v", runs)
	}
	h2, err := reg.TryLock(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := h2.Remove(); err != nil {
		t.Fatal(err)
	}
	if runs, _ := reg.List(""); len(runs) != 0 {
		t.Fatalf("left after Remove: %+v", runs)
	}
	if names, _ := os.ReadDir(reg.Path()); len(names) != 1 || names[0].Name() != MarkerFile {
		t.Fatalf("files left: %v", names)
	}
}

func TestListQuarantinesBadFiles(t *testing.T) {
	reg, _ := Open(t.TempDir())
	id := NewRunID()
	os.WriteFile(filepath.Join(reg.Path(), id+".json"), []byte("{garbage"), 0o600)
	os.WriteFile(filepath.Join(reg.Path(), "notes.txt"), []byte("hi"), 0o600)
	other := filepath.Join(t.TempDir(), "target.json")
	os.WriteFile(other, []byte(goodEntry), 0o600)
	os.Symlink(other, filepath.Join(reg.Path(), "19a9bd2c0d1deadbeef.json"))
	runs, bad := reg.List("")
	if len(runs) != 0 || len(bad) != 2 {
		t.Fatalf("runs %+v, bad %v", runs, bad)
	}
	if b, _ := os.ReadFile(filepath.Join(reg.Path(), "notes.txt")); string(b) != "hi" {
		t.Fatal("a file not named like the registry's was touched")
	}
	if reg.Quarantined() != 2 {
		t.Fatalf("%d quarantined", reg.Quarantined())
	}
	if _, bad := reg.List(""); len(bad) != 0 {
		t.Fatalf("bad files reported twice: %v", bad)
	}
	if b, _ := os.ReadFile(other); string(b) != goodEntry {
		t.Fatal("the symlink's target was touched")
	}
}
