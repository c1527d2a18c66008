package killtree

import (
	"os"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	line := "4242 (a (weird) name) S 1 4242 4242 34816 4242 4194304 100 0 0 0 5 6 0 0 20 0 3 0 987654 1000 25 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	p, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Proc{ID: ID{PID: 4242, Start: 987654}, PPID: 1, PGID: 4242, SID: 4242, TTY: 34816, Comm: "a (weird) name", RSS: 25 * pageSize}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	zombie := strings.Replace(line, ") S ", ") Z ", 1)
	if p, _ := parseStat([]byte(zombie)); !p.Zombie {
		t.Fatal("Z not read as a zombie")
	}
	for _, bad := range []string{"", "4242", "4242 (x", "x (y) S 1 2 3", "4242 (x) S 1 2", "-1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestLookupSelf(t *testing.T) {
	p, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.PPID != os.Getppid() || p.UID != os.Geteuid() || p.Start == 0 || p.Zombie {
		t.Fatalf("self: %+v", p)
	}
	if !Alive(p.ID) || Alive(ID{PID: p.PID, Start: p.Start + 1}) {
		t.Fatal("identity is not pid + start ticks")
	}
}

// A pid whose start ticks differ is another process: never signalled.
func TestSignalRefusesOtherIdentity(t *testing.T) {
	p, err := Lookup(os.Getppid())
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(ID{PID: p.PID, Start: p.Start + 1}, 0); err != ErrNotOurs {
		t.Fatalf("signal with wrong start ticks: %v, want ErrNotOurs", err)
	}
	if err := Signal(ID{PID: 1, Start: 0}, 0); err != ErrNotOurs {
		t.Fatalf("signal to pid 1: %v", err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseStat(b)
		if err == nil && (p.PID <= 0 || len(p.Comm) > len(b)) {
			t.Fatalf("accepted %q as %+v", b, p)
		}
	})
}
