package wintest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/windows"
)

// The child's exit status is the guard's, 0 to 255: the edges, the shell's
// conventions (126, 127, 128+N) and some between. (All 256 take over a
// minute under Wine.)
func TestExitStatus(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for _, code := range []int{0, 1, 2, 3, 7, 42, 100, 125, 126, 127, 128, 129, 130, 137, 143, 200, 254, 255} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := f.guard([]string{"--no-watchdog"}, "exit", []string{strconv.Itoa(code)})
			err := cmd.Run()
			got := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				got = ee.ExitCode()
			} else if err != nil {
				t.Errorf("exit %d: %v", code, err)
				return
			}
			if got != code {
				t.Errorf("child exited %d, guard %d", code, got)
			}
		}()
	}
	wg.Wait()
}

// stdin, stdout and stderr pass through byte for byte, 1 MiB of binary:
// handed to the child as they are, and copied by the guard when it reads
// stream-json for the session id.
func TestStdioByteExact(t *testing.T) {
	data := make([]byte, 1<<20)
	rand.Read(data)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"stream-json", []string{"-p", "x", "--output-format", "stream-json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cmd := f.guard(nil, "cat", nil, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdin = bytes.NewReader(data)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			f.start(cmd)
			if code := f.exitCode(cmd); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.Bytes()[:min(stderr.Len(), 500)])
			}
			if !bytes.Equal(stdout.Bytes(), data) {
				t.Errorf("stdout differs: %d bytes, want %d", stdout.Len(), len(data))
			}
			if !bytes.Equal(stderr.Bytes(), data) {
				t.Errorf("stderr differs: %d bytes, want %d", stderr.Len(), len(data))
			}
		})
	}
}

// A grandchild is ended when the child exits, and when the guard is killed
// (TerminateProcess: the job's kill-on-close).
func TestGrandchildEnded(t *testing.T) {
	t.Run("normal-exit", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard(nil, "tree", []string{f.dir})
		f.start(cmd)
		gc := f.proc("gc.pid")
		f.proc("child.pid")
		f.touch("go")
		if code := f.exitCode(cmd); code != 3 {
			t.Fatalf("guard exited %d, want the child's 3", code)
		}
		f.gone(gc, "the grandchild")
		f.until("the entry's removal", func() bool { return len(f.entries()) == 0 })
	})
	t.Run("guard-killed", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard(nil, "tree", []string{f.dir})
		f.start(cmd)
		gc := f.proc("gc.pid")
		child := f.proc("child.pid")
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		f.exitCode(cmd)
		f.gone(child, "the child")
		f.gone(gc, "the grandchild")
	})
}

// --keep-descendants leaves the grandchild running after a normal exit,
// also when it holds the guard's stdout pipe (stream-json): the guard stops
// copying instead of waiting for it.
func TestKeepDescendants(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"stream-json", []string{"-p", "x", "--output-format", "stream-json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			cmd := f.guard([]string{"--keep-descendants"}, "tree", []string{f.dir}, tc.args...)
			// A file, not a pipe exec.Cmd copies from: in the plain case
			// the kept grandchild holds the guard's stdout, and Wait would
			// wait for it.
			out, err := os.Create(f.path("out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd.Stdout = out
			f.start(cmd)
			gc := f.proc("gc.pid")
			f.proc("child.pid")
			f.touch("go")
			if code := f.exitCode(cmd); code != 3 {
				t.Fatalf("guard exited %d, want 3", code)
			}
			f.alive(gc, "the kept grandchild")
		})
	}
}

// When the guard is killed, its watchdog ends what carries the run's cookie
// outside the job (here a process the test starts with the cookie, as a
// process started by some service for the run would be), removes the entry
// and says so in the audit log.
func TestWatchdog(t *testing.T) {
	f := newFixture(t)
	cmd := f.guard(nil, "tree", []string{f.dir})
	f.start(cmd)
	f.proc("gc.pid")
	var runID string
	f.untilPS("the run", func(rows []map[string]any) bool {
		if len(rows) == 1 {
			runID, _ = rows[0]["run_id"].(string)
		}
		return runID != ""
	})
	self, _ := os.Executable()
	out := exec.Command(self)
	out.Env = append(f.env[:len(f.env):len(f.env)], "CLAUDE_GUARD_RUN="+runID, "CG_HELPER=sleep", "CG_ARGS="+f.path("outside.pid"))
	f.start(out)
	outside := f.proc("outside.pid")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	f.exitCode(cmd)
	f.gone(outside, "the process with the cookie outside the job")
	f.until("the entry's removal", func() bool { return len(f.entries()) == 0 })
	f.until("the watchdog's line in the audit log", func() bool {
		b, _ := os.ReadFile(f.registry() + `\audit.log`)
		return strings.Contains(string(b), `"event":"watchdog"`) && strings.Contains(string(b), runID)
	})
}

// The registry on its Windows path, %LOCALAPPDATA%\claude-guard: ps lists a
// run, kill ends it and all it started; reap ends what a killed guard
// without a watchdog left and removes its entry.
func TestPsKillReap(t *testing.T) {
	t.Run("ps-kill", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard([]string{"--label", "wintest"}, "tree", []string{f.dir})
		f.start(cmd)
		gc := f.proc("gc.pid")
		child := f.proc("child.pid")
		childPID, _ := os.ReadFile(f.path("child.pid"))
		f.untilPS("the run", func(rows []map[string]any) bool {
			return len(rows) == 1 && rows[0]["label"] == "wintest" && rows[0]["pid"] == float64(mustAtoi(t, string(childPID)))
		})
		f.cg("kill", "wintest")
		f.exitCode(cmd)
		f.gone(child, "the child")
		f.gone(gc, "the grandchild")
		f.until("the entry's removal", func() bool { return len(f.entries()) == 0 })
		if rows := f.ps(); len(rows) != 0 {
			t.Errorf("ps after kill: %v", rows)
		}
	})
	t.Run("reap", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard([]string{"--no-watchdog"}, "tree", []string{f.dir})
		f.start(cmd)
		f.proc("gc.pid")
		f.until("the entry", func() bool { return len(f.entries()) == 1 })
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		f.exitCode(cmd)
		// The job ended the processes; the entry is left for reap.
		if n := len(f.entries()); n != 1 {
			t.Fatalf("%d entries after the guard's death, want its stale one", n)
		}
		f.cg("reap")
		if n := len(f.entries()); n != 0 {
			t.Fatalf("%d entries after reap", n)
		}
	})
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The shim: claude-guard.exe copied as claude.exe into a directory before the
// real claude's on PATH runs the real one, guarded, when "claude" is run.
func TestShimOnPath(t *testing.T) {
	f := newFixture(t)
	shimDir, realDir := f.path("shim"), f.path("real")
	for _, d := range []string{shimDir, realDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, _ := os.Executable()
	copyFile(t, guardExe(t), shimDir+`\claude.exe`)
	copyFile(t, self, realDir+`\claude.exe`)
	for i, kv := range f.env {
		if k, v, _ := strings.Cut(kv, "="); strings.EqualFold(k, "PATH") {
			f.env[i] = k + "=" + shimDir + ";" + realDir + ";" + v
		}
	}
	path, err := lookPath("claude", f.env)
	if err != nil || !strings.EqualFold(path, shimDir+`\claude.exe`) {
		t.Fatalf("claude on PATH is %q (%v), want the shim", path, err)
	}
	cmd := exec.Command(path, "-p", "hello")
	cmd.Env = append(f.env, "CG_HELPER=cookie", "CG_ARGS="+f.path("cookie"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 9 {
		t.Fatalf("claude through the shim: %v, want exit 9\n%s", err, out)
	}
	cookie, _ := os.ReadFile(f.path("cookie"))
	if len(cookie) == 0 {
		t.Fatal("the real claude ran without the run's cookie: not guarded")
	}
}

// lookPath finds name on the PATH of env, the way exec.Command would.
func lookPath(name string, env []string) (string, error) {
	old := os.Getenv("PATH")
	defer os.Setenv("PATH", old)
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); strings.EqualFold(k, "PATH") {
			os.Setenv("PATH", v)
		}
	}
	return exec.LookPath(name)
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// The session id of a stream-json run is read from claude's init line and
// shown by ps while the run lives; the line itself passes through.
func TestStreamJSONSessionID(t *testing.T) {
	f := newFixture(t)
	const sid = "0b9a6a38-5d0c-4a55-9d2e-6f1f2b7c9e01"
	cmd := f.guard(nil, "init", []string{sid, f.dir}, "-p", "x", "--output-format", "stream-json", "--verbose")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	f.start(cmd)
	f.untilPS("the session id", func(rows []map[string]any) bool {
		return len(rows) == 1 && rows[0]["session_id"] == sid
	})
	f.touch("go")
	if code := f.exitCode(cmd); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), `"session_id":"`+sid+`"`) {
		t.Errorf("stdout lacks the init line: %q", stdout.String())
	}
}

// The guard's job forbids breakaway, so nothing of the run leaves it: a
// CreateProcess with CREATE_BREAKAWAY_FROM_JOB fails with access denied, as
// it does under any job that forbids it (libuv, hence node, never asks for
// it for that reason). A job of the run's own that allows silent breakaway
// (libuv's) is nested in the guard's: what leaves it stays in the guard's,
// and is ended with the run.
func TestBreakaway(t *testing.T) {
	t.Run("create-breakaway-denied", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard(nil, "tree", []string{f.dir, "breakaway"})
		f.start(cmd)
		if code := f.exitCode(cmd); code != 1 {
			t.Fatalf("guard exited %d, want 1 (the child's CreateProcess refused)", code)
		}
		b, err := os.ReadFile(f.path("start.err"))
		if err != nil {
			t.Fatalf("the child's breakaway CreateProcess did not fail: %v", err)
		}
		if !strings.Contains(string(b), windows.ERROR_ACCESS_DENIED.Error()) {
			t.Errorf("CreateProcess with CREATE_BREAKAWAY_FROM_JOB failed with %q, want access denied", b)
		}
	})
	t.Run("silent-breakaway-stays-in-guard-job", func(t *testing.T) {
		f := newFixture(t)
		cmd := f.guard(nil, "tree", []string{f.dir, "ownjob"})
		f.start(cmd)
		gc := f.proc("gc.pid")
		f.proc("child.pid")
		f.touch("go")
		if code := f.exitCode(cmd); code != 3 {
			b, _ := os.ReadFile(f.path("ownjob.err"))
			t.Fatalf("guard exited %d, want 3 (%s)", code, b)
		}
		f.gone(gc, "the grandchild that left the child's own job")
	})
}
