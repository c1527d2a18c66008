//go:build unix

package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// snapshotTree returns every path under dir with its type and contents, to
// check that nothing was touched.
func snapshotTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, _ := os.Lstat(p)
		v := fi.Mode().Type().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			v += ":" + string(b)
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += "->" + l
		}
		out[p] = v
		return nil
	})
	return out
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (files of another uid)")
	}
}

// A directory of the user's (~/.claude by mistake) is refused whole: nothing
// in it is moved, nothing is added to it.
func TestOpenRefusesPopulatedDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "CLAUDE.md"), []byte("# mine"), 0o600)
	os.WriteFile(filepath.Join(dir, "settings.json"), []byte("{}"), 0o600)
	os.Mkdir(filepath.Join(dir, "projects"), 0o700)
	os.WriteFile(filepath.Join(dir, "19a9bd2c0d1deadbeef.json"), []byte("{garbage"), 0o600)
	before := snapshotTree(t, dir)
	_, err := Open(dir)
	if !errors.Is(err, ErrNotRegistry) || !strings.Contains(err.Error(), "CLAUDE.md, projects, settings.json") {
		t.Fatalf("Open of a populated directory: %v", err)
	}
	if after := snapshotTree(t, dir); !mapsEqual(before, after) {
		t.Fatalf("touched:\nbefore %v\nafter  %v", before, after)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// An empty directory, or one holding only registry files (a registry made
// before the marker), is marked and used.
func TestOpenMarksEmptyAndOldRegistries(t *testing.T) {
	empty := t.TempDir()
	if _, err := Open(empty); err != nil {
		t.Fatal(err)
	}
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "19a9bd2c0d1deadbeef.json"), []byte(goodEntry), 0o600)
	os.WriteFile(filepath.Join(old, "19a9bd2c0d1deadbeef.lock"), nil, 0o600)
	os.WriteFile(filepath.Join(old, AuditFile), nil, 0o600)
	os.Mkdir(filepath.Join(old, "quarantine"), 0o700)
	if _, err := Open(old); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{empty, old} {
		if fi, err := os.Lstat(filepath.Join(d, MarkerFile)); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("%s not marked: %v", d, err)
		}
	}
	// once marked, files of other names may appear: they are left alone
	os.WriteFile(filepath.Join(old, "notes.txt"), nil, 0o600)
	if _, err := Open(old); err != nil {
		t.Fatal(err)
	}
	// a marker that is not a regular file is refused
	odd := t.TempDir()
	os.Symlink("/etc/passwd", filepath.Join(odd, MarkerFile))
	if _, err := Open(odd); err == nil {
		t.Fatal("symlinked marker accepted")
	}
}

// Files not named like the registry's are never moved, only reported.
func TestListLeavesStrangersAlone(t *testing.T) {
	reg, _ := Open(t.TempDir())
	os.WriteFile(filepath.Join(reg.Path(), "notes.txt"), []byte("hi"), 0o600)
	os.Mkdir(filepath.Join(reg.Path(), "projects"), 0o700)
	os.Symlink("/etc", filepath.Join(reg.Path(), "link"))
	unix.Mkfifo(filepath.Join(reg.Path(), "fifo"), 0o600)
	before := snapshotTree(t, reg.Path())
	runs, bad := reg.List("")
	if len(runs) != 0 || len(bad) != 0 {
		t.Fatalf("runs %v, bad %v", runs, bad)
	}
	if after := snapshotTree(t, reg.Path()); !mapsEqual(before, after) {
		t.Fatalf("touched:\nbefore %v\nafter  %v", before, after)
	}
	if got := reg.Strangers(); !slices.Equal(got, []string{"fifo", "link", "notes.txt", "projects"}) {
		t.Fatalf("strangers %v", got)
	}
}

// A live run's entry is never quarantined, whatever it holds; once its
// guard is gone, a bad one is.
func TestLiveEntryNeverQuarantined(t *testing.T) {
	reg, _ := Open(t.TempDir())
	id := NewRunID()
	h, err := reg.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(reg.Path(), id+".json")
	os.WriteFile(path, []byte("{written by something else"), 0o600)
	runs, bad := reg.List("")
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), "left in place: its run is live") {
		t.Fatalf("bad %v", bad)
	}
	if _, err := os.Stat(path); err != nil || reg.Quarantined() != 0 || len(runs) != 0 {
		t.Fatalf("live entry moved: %v, %d quarantined, runs %v", err, reg.Quarantined(), runs)
	}
	h.Close()
	if _, bad := reg.List(""); len(bad) != 1 || !strings.Contains(bad[0].Error(), "moved to") {
		t.Fatalf("dead run's bad entry: %v", bad)
	}
	if reg.Quarantined() != 1 {
		t.Fatalf("%d quarantined", reg.Quarantined())
	}
}

// An entry of a newer schema is listed as such, live or not, and never
// moved.
func TestUnknownSchemaListed(t *testing.T) {
	reg, _ := Open(t.TempDir())
	id := NewRunID()
	h, _ := reg.Create(id)
	newer := `{"schema":7,"run_id":"` + id + `","pid":"a string in the new format"}`
	os.WriteFile(filepath.Join(reg.Path(), id+".json"), []byte(newer), 0o600)
	for _, live := range []bool{true, false} {
		runs, bad := reg.List("")
		if len(bad) != 0 || len(runs) != 1 || !runs[0].Unknown || runs[0].Schema != 7 || runs[0].Live != live {
			t.Fatalf("live %v: runs %+v, bad %v", live, runs, bad)
		}
		h.Close()
	}
	if b, _ := os.ReadFile(filepath.Join(reg.Path(), id+".json")); string(b) != newer || reg.Quarantined() != 0 {
		t.Fatal("newer entry touched")
	}
}

// A lock file replaced by a FIFO, a directory or a symlink is quarantined;
// the run is then one with an entry and no lock, which Relock takes over.
func TestLockAnomaliesQuarantined(t *testing.T) {
	outside := t.TempDir()
	target := filepath.Join(outside, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	for name, make := range map[string]func(string) error{
		"fifo":    func(p string) error { return unix.Mkfifo(p, 0o600) },
		"dir":     func(p string) error { return os.Mkdir(p, 0o700) },
		"symlink": func(p string) error { return os.Symlink(target, p) },
	} {
		t.Run(name, func(t *testing.T) {
			reg, _ := Open(t.TempDir())
			id := NewRunID()
			h, _ := reg.Create(id)
			h.Write(&Entry{PID: 5})
			h.Close()
			lock := filepath.Join(reg.Path(), id+".lock")
			os.Remove(lock)
			if err := make(lock); err != nil {
				t.Fatal(err)
			}
			runs, bad := reg.List("")
			if len(bad) != 1 || !strings.Contains(bad[0].Error(), "moved to") {
				t.Fatalf("bad %v", bad)
			}
			if len(runs) != 1 || !runs[0].NoLock || runs[0].Live {
				t.Fatalf("runs %+v", runs)
			}
			h, err := reg.Relock(id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Relock(id); !errors.Is(err, ErrLive) {
				t.Fatalf("second Relock: %v", err)
			}
			if err := h.Remove(); err != nil {
				t.Fatal(err)
			}
			if runs, bad := reg.List(""); len(runs)+len(bad) != 0 {
				t.Fatalf("left: %v %v", runs, bad)
			}
			if b, _ := os.ReadFile(target); string(b) != "keep" {
				t.Fatal("symlink target touched")
			}
		})
	}
}

// TryLock on a lock that is a FIFO never blocks and quarantines it.
func TestTryLockOnFIFO(t *testing.T) {
	reg, _ := Open(t.TempDir())
	id := NewRunID()
	unix.Mkfifo(filepath.Join(reg.Path(), id+".lock"), 0o600)
	if _, err := reg.TryLock(id); !errors.Is(err, ErrGone) {
		t.Fatalf("TryLock: %v", err)
	}
	if reg.Quarantined() != 1 {
		t.Fatal("FIFO lock not quarantined")
	}
}

// A symlinked quarantine folder is never followed: bad files stay put.
func TestSymlinkedQuarantineNotFollowed(t *testing.T) {
	reg, _ := Open(t.TempDir())
	elsewhere := t.TempDir()
	os.Symlink(elsewhere, filepath.Join(reg.Path(), "quarantine"))
	id := NewRunID()
	bad := filepath.Join(reg.Path(), id+".json")
	os.WriteFile(bad, []byte("{garbage"), 0o600)
	_, errs := reg.List("")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "left in place") {
		t.Fatalf("errs %v", errs)
	}
	if names, _ := os.ReadDir(elsewhere); len(names) != 0 {
		t.Fatalf("moved through the link: %v", names)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatal(err)
	}
	if reg.QuarantineErr() == nil || reg.Quarantined() != 0 {
		t.Fatal("symlinked quarantine not reported")
	}
}

// Directories are never created inside another user's: root under sudo -E
// with the user's HOME makes nothing there.
func TestNoDirectoryInAnotherUsersHome(t *testing.T) {
	requireRoot(t)
	home := filepath.Join(t.TempDir(), "user")
	os.Mkdir(home, 0o755)
	os.Chown(home, 4242, 4242)
	_, err := Open(filepath.Join(home, ".local", "state", "claude-guard"))
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 4242") {
		t.Fatalf("Open: %v", err)
	}
	if names, _ := os.ReadDir(home); len(names) != 0 {
		t.Fatalf("created in the user's home: %v", names)
	}
	// nor is an existing directory there used: the user can swap it
	os.Mkdir(filepath.Join(home, "reg"), 0o700)
	if _, err := Open(filepath.Join(home, "reg")); err == nil || !strings.Contains(err.Error(), "uid 4242") {
		t.Fatalf("Open inside another user's directory: %v", err)
	}
}

// A symlink of another user's in the registry's path is refused; one of
// root's (a system link) or the user's own is fine.
func TestIntermediateSymlinks(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	os.Mkdir(real, 0o700)
	mine := filepath.Join(base, "mine")
	os.Symlink(real, mine)
	if _, err := Open(filepath.Join(mine, "registry")); err != nil {
		t.Fatalf("through a link of one's own: %v", err)
	}
	requireRoot(t)
	theirs := filepath.Join(base, "theirs")
	os.Symlink(real, theirs)
	os.Lchown(theirs, 4242, 4242)
	if _, err := Open(filepath.Join(theirs, "registry")); err == nil || !strings.Contains(err.Error(), "a symlink of uid 4242") {
		t.Fatalf("through another user's link: %v", err)
	}
}

// The default directory is the user's own: another user's HOME or
// XDG_STATE_HOME (sudo -E) is passed over for the user database's home.
func TestDefaultDirIsOwn(t *testing.T) {
	me := os.Geteuid()
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_STATE_HOME": filepath.Join(home, ".local", "state")}
	getenv := func(k string) string { return env[k] }
	lookup := func(uid int) (string, error) { return "/home/of/" + strconvItoa(uid), nil }
	if d, _ := defaultDirFor(getenv, me, lookup); d != filepath.Join(home, ".local", "state", "claude-guard") {
		t.Fatalf("own home: %s", d)
	}
	other := me + 1000
	if d, _ := defaultDirFor(getenv, other, lookup); d != "/home/of/"+strconvItoa(other)+"/.local/state/claude-guard" {
		t.Fatalf("another user's home: %s", d)
	}
	noUser := func(int) (string, error) { return "", errors.New("no such user") }
	if _, err := defaultDirFor(getenv, other, noUser); err == nil || !strings.Contains(err.Error(), "CLAUDE_GUARD_HOME") {
		t.Fatalf("no home at all: %v", err)
	}
}

func strconvItoa(i int) string { return strconv.Itoa(i) }
