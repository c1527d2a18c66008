package wintest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("CG_HELPER"); mode != "" {
		var args []string
		if a := os.Getenv("CG_ARGS"); a != "" {
			args = strings.Split(a, "|")
		}
		os.Exit(helper(mode, args))
	}
	os.Exit(m.Run())
}

// waitLimit bounds every wait: a run that hangs fails its test.
const waitLimit = 20 * time.Second

// underWine reports whether this runs under Wine, not Windows (ntdll
// exports wine_get_version there).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// guardExe is the claude-guard.exe under test.
func guardExe(t *testing.T) string {
	p := os.Getenv("CLAUDE_GUARD_EXE")
	if p == "" {
		t.Fatal("CLAUDE_GUARD_EXE is not set: go test ./tests (on Linux, under Wine) sets it")
	}
	return p
}

// fixture is one test's own registry (the default Windows path,
// %LOCALAPPDATA%\claude-guard, under a temporary LOCALAPPDATA) and work
// directory.
type fixture struct {
	t   *testing.T
	dir string
	env []string
}

func newFixture(t *testing.T) *fixture {
	// Not t.TempDir: under Wine 8 Go's os.RemoveAll fails ("Invalid
	// function": no FILE_DISPOSITION_POSIX_SEMANTICS); the Linux side
	// removes the whole work directory.
	dir, err := os.MkdirTemp(os.Getenv("CG_WORK"), "cg")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CG_WORK") == "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	f := &fixture{t: t, dir: dir}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "CLAUDE_GUARD_HOME", "CLAUDE_GUARD_RUN", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR", "CG_HELPER", "CG_ARGS":
			continue
		}
		f.env = append(f.env, kv)
	}
	f.env = append(f.env, "LOCALAPPDATA="+filepath.Join(dir, "appdata"), "CLAUDE_CONFIG_DIR="+filepath.Join(dir, "claudecfg"))
	if err := os.MkdirAll(filepath.Join(dir, "appdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) path(name string) string { return filepath.Join(f.dir, name) }

func (f *fixture) registry() string { return filepath.Join(f.dir, "appdata", "claude-guard") }

// guard returns claude-guard.exe with guardArgs, running this test binary as
// helper mode with args and then childArgs (seen by the guard, ignored by
// the helper).
func (f *fixture) guard(guardArgs []string, mode string, args []string, childArgs ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		f.t.Fatal(err)
	}
	argv := append(append(append([]string{}, guardArgs...), self), childArgs...)
	cmd := exec.Command(guardExe(f.t), argv...)
	cmd.Env = append(f.env[:len(f.env):len(f.env)], "CG_HELPER="+mode, "CG_ARGS="+strings.Join(args, "|"))
	return cmd
}

// cg runs a claude-guard subcommand and returns its stdout.
func (f *fixture) cg(args ...string) []byte {
	cmd := exec.Command(guardExe(f.t), args...)
	cmd.Env = f.env
	out, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("claude-guard %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
	}
	return out
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}

// ps returns the runs claude-guard ps --json lists.
func (f *fixture) ps() []map[string]any {
	var rows []map[string]any
	if err := json.Unmarshal(f.cg("ps", "--json"), &rows); err != nil {
		f.t.Fatalf("ps --json: %v", err)
	}
	return rows
}

// untilPS waits until the rows ps lists satisfy ok, and shows the last
// rows when they never do.
func (f *fixture) untilPS(what string, ok func([]map[string]any) bool) {
	f.t.Helper()
	var rows []map[string]any
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(5 * time.Millisecond) {
		if rows = f.ps(); ok(rows) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s; ps lists %v", waitLimit, what, rows)
		}
	}
}

// entries returns the registry's entry files.
func (f *fixture) entries() []string {
	m, _ := filepath.Glob(filepath.Join(f.registry(), "*.json"))
	return m
}

// until polls cond until it holds or waitLimit passes: what is waited for
// is a file or a process another program makes.
func (f *fixture) until(what string, cond func() bool) {
	f.t.Helper()
	for deadline := time.Now().Add(waitLimit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
	}
}

func (f *fixture) waitFile(name string) {
	f.t.Helper()
	f.until(name, func() bool { _, err := os.Stat(f.path(name)); return err == nil })
}

func (f *fixture) touch(name string) {
	if err := os.WriteFile(f.path(name), nil, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// proc opens the process a helper wrote to pidfile, while it runs: the
// handle pins its identity, so waiting on it later cannot meet another
// process under a reused pid.
func (f *fixture) proc(pidFile string) windows.Handle {
	f.t.Helper()
	var b []byte
	// Read until it succeeds: Wine may still hold the file the writer just
	// renamed into place (a sharing violation).
	f.until(pidFile, func() bool {
		var err error
		b, err = os.ReadFile(f.path(pidFile))
		return err == nil
	})
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		f.t.Fatal(err)
	}
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		f.t.Fatalf("open process %d (%s): %v", pid, pidFile, err)
	}
	f.t.Cleanup(func() {
		windows.TerminateProcess(h, 1)
		windows.CloseHandle(h)
	})
	// Every caller waits for its end later: one that never ran would pass.
	if exited(h, 0) {
		f.t.Fatalf("process %d (%s) ended before the test saw it", pid, pidFile)
	}
	return h
}

func exited(h windows.Handle, wait time.Duration) bool {
	ev, _ := windows.WaitForSingleObject(h, uint32(wait/time.Millisecond))
	return ev == windows.WAIT_OBJECT_0
}

func (f *fixture) gone(h windows.Handle, what string) {
	f.t.Helper()
	if !exited(h, waitLimit) {
		f.t.Fatalf("%s still runs %v after the guard ended", what, waitLimit)
	}
}

func (f *fixture) alive(h windows.Handle, what string) {
	f.t.Helper()
	if exited(h, 0) {
		f.t.Fatalf("%s is gone", what)
	}
}

// exitCode waits for a started command, at most waitLimit.
func (f *fixture) exitCode(cmd *exec.Cmd) int {
	f.t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			f.t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(waitLimit):
		cmd.Process.Kill()
		f.t.Fatalf("%s did not end within %v", cmd.Path, waitLimit)
		return -1
	}
}

func (f *fixture) start(cmd *exec.Cmd) {
	f.t.Helper()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { cmd.Process.Kill() })
}
