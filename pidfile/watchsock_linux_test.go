package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The watcher's socket works at any registry path: one too long for
// sun_path (108 bytes) is reached through /proc/self/fd. Each end learns
// the other's pid, and Close removes the socket file.
func TestWatcherSocket(t *testing.T) {
	for _, long := range []bool{false, true} {
		dir := t.TempDir()
		if long {
			dir = filepath.Join(dir, strings.Repeat("d", 60), strings.Repeat("e", 60))
		}
		reg, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.DialWatcher(); err == nil {
			t.Fatal("dialled a watcher before any listened")
		}
		ln, err := reg.ListenWatcher()
		if err != nil {
			t.Fatalf("long=%v: %v", long, err)
		}
		conn, p, err := reg.DialWatcher()
		if err != nil {
			t.Fatalf("long=%v: dial: %v", long, err)
		}
		sc, sp, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if p.PID != os.Getpid() || sp.PID != os.Getpid() {
			t.Errorf("peers %d and %d, want %d", p.PID, sp.PID, os.Getpid())
		}
		if _, err := conn.Write([]byte("run x\n")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 6)
		if n, err := unix.Read(sc, b); err != nil || string(b[:max(n, 0)]) != "run x\n" {
			t.Errorf("read %q, %v", b[:max(n, 0)], err)
		}
		if _, _, err := ln.Accept(); !errors.Is(err, unix.EAGAIN) {
			t.Errorf("Accept with no guard waiting: %v, want EAGAIN", err)
		}
		conn.Close()
		unix.Close(sc)
		if err := ln.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, WatcherSocket)); !os.IsNotExist(err) {
			t.Errorf("socket left after Close: %v", err)
		}
		if !Ours(WatcherSocket) || !Ours(watcherLock) {
			t.Error("the watcher's files are not the registry's own names")
		}
	}
}

// Files of another kind under the watcher's names are moved aside, never
// followed or removed, and the watcher can serve: a directory as its lock,
// a regular file as its socket.
func TestWatcherBadFilesQuarantined(t *testing.T) {
	dir := t.TempDir()
	reg, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, watcherLock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, WatcherSocket), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock, err := reg.LockWatcher()
	if err != nil {
		t.Fatalf("LockWatcher: %v", err)
	}
	defer lock.Close()
	ln, err := reg.ListenWatcher()
	if err != nil {
		t.Fatalf("ListenWatcher: %v", err)
	}
	defer ln.Close()
	moved, _ := filepath.Glob(filepath.Join(dir, quarantineDir, ".watcher.*"))
	if len(moved) != 2 {
		t.Fatalf("quarantined: %v", moved)
	}
	for _, m := range moved {
		if strings.HasPrefix(filepath.Base(m), WatcherSocket) {
			if b, err := os.ReadFile(m); err != nil || string(b) != "keep me" {
				t.Errorf("the file under the socket's name lost its content: %q %v", b, err)
			}
		}
	}
}
