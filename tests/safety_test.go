//go:build linux

package tests

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (another user's files, mounts)")
	}
}

// A broken stderr (a pipe nobody reads, with the registry unusable and a bad
// CLAUDE_GUARD_GRACE, so the guard warns before starting its command) never
// stops the command: alias, shim and run alike.
func TestBrokenStderrStillRuns(t *testing.T) {
	bin := guardBinary(t)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o600)
	shimDir := filepath.Join(dir, "shim")
	os.Mkdir(shimDir, 0o755)
	os.Symlink(bin, filepath.Join(shimDir, "claude"))
	real := filepath.Join(dir, "realclaude")
	os.WriteFile(real, []byte("#!/bin/sh\nmkdir \"$1\"\n"), 0o755)
	env := append(os.Environ(), "CLAUDE_GUARD_HOME="+notDir, "CLAUDE_GUARD_GRACE=5", "CLAUDE_GUARD_CLAUDE="+real,
		"CLAUDE_CONFIG_DIR="+filepath.Join(dir, "cfg"))
	for name, argv := range map[string][]string{
		"alias": {bin, "claude", filepath.Join(dir, "alias")},
		"shim":  {filepath.Join(shimDir, "claude"), filepath.Join(dir, "shim-ran")},
		"run":   {bin, "run", "--", "mkdir", filepath.Join(dir, "run")},
	} {
		t.Run(name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env, cmd.Stderr = env, w
			err = cmd.Run()
			w.Close()
			if err != nil {
				t.Fatalf("%v: %v", argv, err)
			}
			if _, err := os.Stat(argv[len(argv)-1]); err != nil {
				t.Fatalf("the command did not run: %v", err)
			}
		})
	}
}

// A closed stderr: the guard's diagnostics go nowhere, the command still
// runs, and no file of the guard's (a registry lock) is handed to it as
// its stderr.
func TestClosedStderrStillRuns(t *testing.T) {
	f := newFixture(t)
	out := f.path("fd2")
	cmd := exec.Command("sh", "-c", `exec 2>&-; exec "$0" --no-watchdog sh -c 'readlink /proc/self/fd/2 > "$1"' x "$1"`, guardBinary(t), out)
	cmd.Env, cmd.Dir = append(f.env, "CLAUDE_GUARD_GRACE=5"), f.dir
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(b)) != "/dev/null" {
		t.Fatalf("the command's stderr: %q, %v", b, err)
	}
}

// Under sudo -E the user's HOME, XDG_STATE_HOME and CLAUDE_GUARD_HOME reach
// root: root creates nothing in the user's home, and the run still runs.
func TestRootCreatesNothingInUserHome(t *testing.T) {
	skipUnlessRoot(t)
	home := filepath.Join(t.TempDir(), "user")
	os.Mkdir(home, 0o755)
	os.Chown(home, 4242, 4242)
	ran := filepath.Join(t.TempDir(), "ran")
	cmd := exec.Command(guardBinary(t), "--no-watchdog", "mkdir", ran)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"CLAUDE_GUARD_HOME="+filepath.Join(home, ".local", "state", "claude-guard"), "CLAUDE_CONFIG_DIR="+filepath.Join(home, ".claude"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if _, err := os.Stat(ran); err != nil {
		t.Fatal("the command did not run")
	}
	if !strings.Contains(stderr.String(), "will not create") || !strings.Contains(stderr.String(), "belongs to uid 4242") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	if names, _ := os.ReadDir(home); len(names) != 0 {
		t.Fatalf("root created %v in the user's home", names)
	}
}

// Any user whose HOME is someone else's (here: uid 4242, HOME owned by root)
// uses no directory there by default; without a home of its own in the user
// database it runs unrecorded, touching nothing.
func TestDefaultRegistryNeverInAnotherUsersHome(t *testing.T) {
	skipUnlessRoot(t)
	base, err := os.MkdirTemp("", "claude-guard-uid")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755) // reachable for uid 4242
	bin := filepath.Join(base, "claude-guard")
	copyFile(t, guardBinary(t), bin)
	home := filepath.Join(base, "roothome")
	os.Mkdir(home, 0o755)
	work := filepath.Join(base, "work")
	os.Mkdir(work, 0o755)
	os.Chown(work, 4242, 4242)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + home, "CLAUDE_CONFIG_DIR=" + filepath.Join(work, "cfg")}
	cmd := exec.Command(bin, "--no-watchdog", "mkdir", filepath.Join(work, "ran"))
	cmd.Env, cmd.Dir = env, work
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(work, "ran")); err != nil {
		t.Fatal("the command did not run")
	}
	if !strings.Contains(stderr.String(), "no registry directory of uid 4242's own") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	if names, _ := os.ReadDir(home); len(names) != 0 {
		t.Fatalf("created %v in root's home", names)
	}
}

func copyFile(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
}

// A full disk: --strict exits 1 with nothing started; without it the run
// goes unrecorded.
func TestStrictOnFullDisk(t *testing.T) {
	skipUnlessRoot(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("SKIP: cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	f := newFixture(t)
	f.env = append(f.env, "CLAUDE_GUARD_HOME="+filepath.Join(mnt, "registry"))
	if _, stderr, code := f.run("--no-watchdog", "true"); code != 0 || stderr != "" {
		t.Fatalf("first run: %d %s", code, stderr)
	}
	fill, _ := os.Create(filepath.Join(mnt, "fill"))
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	_, stderr, code := f.run("--strict", "--no-watchdog", "mkdir", f.path("strict"))
	if code != 1 || !strings.Contains(stderr, "--strict: not started") || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("--strict on a full disk: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(f.path("strict")); err == nil {
		t.Fatal("--strict started the command")
	}
	if _, stderr, code := f.run("--no-watchdog", "mkdir", f.path("lax")); code != 0 || !strings.Contains(stderr, "cannot record the run") {
		t.Fatalf("without --strict: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(f.path("lax")); err != nil {
		t.Fatal("the command did not run")
	}
}

// The reader of a listing going away (ps --json | head) ends it quietly,
// as a command ended by SIGPIPE, not with an error on stderr.
func TestListingToClosedPipe(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{{"ps", "--json"}, {"ps", "--json", "--all"}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		cmd := exec.Command(guardBinary(t), args...)
		cmd.Env, cmd.Dir = f.env, f.dir
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = w, &stderr
		cmd.Run()
		w.Close()
		if code := cmd.ProcessState.ExitCode(); code != 141 || stderr.Len() != 0 {
			t.Errorf("%v into a closed pipe: exit %d, stderr %q; want 141 and nothing", args, code, stderr.String())
		}
	}
}
