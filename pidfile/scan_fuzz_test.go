//go:build unix

package pidfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzScan builds a registry directory from layout, one file a line:
//
//	KIND NAME[=CONTENT]
//
// KIND f: regular file, d: directory, l: symlink to a file outside, L:
// symlink to a directory outside, p: FIFO. It also holds one live run whose
// entry is live (any bytes). Listing it, and every way of opening it again,
// must never move, change or remove a file not named like the registry's,
// never touch anything outside it, never move a live run's entry, and never
// block.
func FuzzScan(f *testing.F) {
	f.Add([]byte("f notes.txt=hi\nd projects\nl CLAUDE.md\n"), []byte(goodEntry))
	f.Add([]byte("f 19a9bd2c0d1deadbeef.json={garbage\np 19a9bd2c0d1deadbeef.lock\n"), []byte("{"))
	f.Add([]byte("L quarantine\nf 19a9bd2c0d100000001.json=x\n"), []byte(`{"schema":9}`))
	f.Add([]byte("d 19a9bd2c0d100000002.lock\nf 19a9bd2c0d100000002.json="+goodEntry+"\n"), []byte(""))
	f.Fuzz(func(t *testing.T, layout, live []byte) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		os.Mkdir(outside, 0o700)
		os.WriteFile(filepath.Join(outside, "keep"), []byte("keep"), 0o600)
		os.Mkdir(filepath.Join(outside, "keepdir"), 0o700)
		reg, err := Open(filepath.Join(base, "registry"))
		if err != nil {
			t.Fatal(err)
		}
		liveID := "19a9bd2c0d1ffffffff"
		h, err := reg.Create(liveID)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		livePath := filepath.Join(reg.Path(), liveID+".json")
		os.WriteFile(livePath, live, 0o600)
		for _, line := range strings.Split(string(layout), "\n") {
			kind, rest, ok := strings.Cut(line, " ")
			name, content, _ := strings.Cut(rest, "=")
			if !ok || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") ||
				name == MarkerFile || strings.HasPrefix(name, liveID) || len(name) > 200 {
				continue
			}
			p := filepath.Join(reg.Path(), name)
			switch kind {
			case "f":
				os.WriteFile(p, []byte(content), 0o600)
			case "d":
				os.Mkdir(p, 0o700)
			case "l":
				os.Symlink(filepath.Join(outside, "keep"), p)
			case "L":
				os.Symlink(filepath.Join(outside, "keepdir"), p)
			case "p":
				unix.Mkfifo(p, 0o600)
			}
		}
		before := snapshotTree(t, base)
		reg.List("")
		reg.List("boot")
		reg.Strangers()
		reg.Quarantined()
		if _, err := Open(reg.Path()); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		after := snapshotTree(t, base)
		for p, v := range before {
			rel, _ := filepath.Rel(reg.Path(), p)
			inside := !strings.HasPrefix(rel, "..")
			switch {
			case !inside && after[p] != v:
				t.Fatalf("outside the registry %s changed: %q -> %q", p, v, after[p])
			case inside && rel != "." && !Ours(strings.Split(rel, "/")[0]) && after[p] != v:
				t.Fatalf("a file not the registry's, %s, changed: %q -> %q", rel, v, after[p])
			case p == livePath && after[p] != v:
				t.Fatalf("the live run's entry changed: %q -> %q", v, after[p])
			}
		}
		for p := range after {
			rel, _ := filepath.Rel(reg.Path(), p)
			if _, was := before[p]; !was && (strings.HasPrefix(rel, "..") || (rel != "." && !Ours(strings.Split(rel, "/")[0]))) {
				t.Fatalf("created %s, not a name of the registry's", p)
			}
		}
	})
}
