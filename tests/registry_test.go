//go:build linux

package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
)

// fixture is one test's registry, claude config and working directory.
type fixture struct {
	t    *testing.T
	env  []string
	home string // CLAUDE_GUARD_HOME
	dir  string // working directory of the commands
}

func newFixture(t *testing.T) *fixture {
	base := t.TempDir()
	f := &fixture{t: t, home: filepath.Join(base, "registry"), dir: filepath.Join(base, "work")}
	os.Mkdir(f.dir, 0o755)
	f.env = append(os.Environ(), "CLAUDE_GUARD_HOME="+f.home, "CLAUDE_CONFIG_DIR="+filepath.Join(base, "claudecfg"))
	// Detached watchers outlive the commands that started them and may
	// still be writing the registry: the directory is removed after they
	// are gone (cleanups run last first).
	t.Cleanup(func() {
		if !stopWatchers(f.home) {
			t.Errorf("test timeout: this test's watchers %v still running after %v", f.watchdogs(), pollLimit)
		}
	})
	// A test that failed midway may leave runs behind: they are ended
	// through this fixture's own registry, before its watchdogs are waited
	// for, so a failure leaks nothing onto the machine.
	t.Cleanup(func() {
		if t.Failed() {
			f.run("kill", "--all", "--grace", "0s")
			f.run("reap", "--daemon", "--grace", "0s")
		}
	})
	return f
}

// guard starts claude-guard ARGS in the fixture's directory.
func (f *fixture) guard(args ...string) *exec.Cmd {
	cmd := exec.Command(guardBinary(f.t), args...)
	cmd.Env, cmd.Dir = f.env, f.dir
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	return cmd
}

// run runs claude-guard ARGS to the end and returns stdout, stderr, exit code.
func (f *fixture) run(args ...string) (string, string, int) {
	cmd := exec.Command(guardBinary(f.t), args...)
	cmd.Env, cmd.Dir = f.env, f.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func (f *fixture) ps() []map[string]any {
	out, stderr, code := f.run("ps", "--json")
	if code != 0 {
		f.t.Fatalf("ps --json: exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		f.t.Fatalf("ps --json: %v: %q", err, out)
	}
	return rows
}

func (f *fixture) path(name string) string { return filepath.Join(f.dir, name) }

func (f *fixture) touch(name string) { os.WriteFile(f.path(name), nil, 0o644) }

func (f *fixture) pid(name string) int { return readPidFile(f.t, f.path(name)) }

// readPidFile waits for a pid file a helper writes, and reads it.
func readPidFile(t *testing.T, path string) int {
	waitPath(t, path)
	b, _ := os.ReadFile(path)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("process %d to end", pid), func() bool { return !alive(pid) })
}

// 64 guards start and end while ps --json is read in a loop: every read is
// valid JSON with well-formed entries, no live run ever reads as stale, none
// is lost, each is gone once its run ends.
func TestRegistryUnderConcurrentRuns(t *testing.T) {
	f := newFixture(t)
	const n = 64
	fake := helperPath(t, "fakeclaude")
	var cmds []*exec.Cmd
	for i := 0; i < n; i++ {
		cmds = append(cmds, f.guard("--label", fmt.Sprintf("run%d", i), fake, fmt.Sprintf("pid=p%d", i), "waitfile=done"))
	}
	stop := make(chan struct{})
	var reads int
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, stderr, code := f.run("ps", "--json")
			var rows []map[string]any
			if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 || stderr != "" {
				readErr = fmt.Errorf("read %d: exit %d, %v, stderr %q, out %q", reads, code, err, stderr, out)
				return
			}
			for _, r := range rows {
				if r["state"] != "running" || r["pid"].(float64) <= 0 || r["guard_pid"].(float64) <= 0 || len(r["run_id"].(string)) != 19 {
					readErr = fmt.Errorf("read %d: bad row %v", reads, r)
					return
				}
			}
			reads++
		}
	}()
	// every run is listed, with its child's pid and label
	want := map[string]int{}
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("run%d", i)] = f.pid(fmt.Sprintf("p%d", i))
	}
	got := map[string]int{}
	if !poll(20*time.Second, func() bool {
		got = map[string]int{}
		for _, r := range f.ps() {
			got[r["label"].(string)] = int(r["pid"].(float64))
		}
		return fmt.Sprint(got) == fmt.Sprint(want)
	}) {
		t.Fatalf("ps lists %v, want %v", got, want)
	}
	f.touch("done")
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if rows := f.ps(); len(rows) != 0 {
		t.Fatalf("runs left after they ended: %v", rows)
	}
	// the watcher finishes each run's sweep and removes what is left of it;
	// only the marker and the watcher's lock stay (its socket goes with it)
	var names []os.DirEntry
	if !stopWatchers(f.home) || !poll(20*time.Second, func() bool {
		names, _ = os.ReadDir(f.home)
		var left []string
		for _, n := range names {
			if n.Name() != pidfile.MarkerFile && n.Name() != ".watcher.lock" {
				left = append(left, n.Name())
			}
		}
		return len(left) == 0
	}) {
		t.Fatalf("files left in the registry: %v", names)
	}
	t.Logf("%d ps reads", reads)
}

// A guard SIGKILLed leaves its entry, which reads as stale; its child died
// with it. reap clears it.
func TestKilledGuardReadsStale(t *testing.T) {
	f := newFixture(t)
	g := f.guard("--no-watchdog", helperPath(t, "fakeclaude"), "pid=child", "block")
	child := f.pid("child")
	if rows := f.ps(); len(rows) != 1 || rows[0]["state"] != "running" {
		t.Fatalf("live run: %v", rows)
	}
	g.Process.Kill()
	g.Wait()
	waitGone(t, child)
	rows := f.ps()
	if len(rows) != 1 || rows[0]["state"] != "stale" {
		t.Fatalf("after the guard's death: %v", rows)
	}
	if out, stderr, code := f.run("reap"); code != 0 || !strings.Contains(out, rows[0]["run_id"].(string)) {
		t.Fatalf("reap: exit %d, %q, %q", code, out, stderr)
	}
	if rows := f.ps(); len(rows) != 0 {
		t.Fatalf("after reap: %v", rows)
	}
}

// spawnSleeper starts a process of this test's that no run owns.
func spawnSleeper(t *testing.T, dir, name string, attr *syscall.SysProcAttr) (int, uint64) {
	cmd := exec.Command(helperPath(t, "sleeper"), filepath.Join(dir, name))
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPath(t, filepath.Join(dir, name))
	return cmd.Process.Pid, startTicks(t, cmd.Process.Pid)
}

func startTicks(t *testing.T, pid int) uint64 {
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st.start
}

func bootID(t *testing.T) string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// writeEntry plants a stale entry (no lock held) in the registry.
func (f *fixture) writeEntry(id string, e map[string]any) {
	os.MkdirAll(f.home, 0o700)
	e["schema"], e["run_id"] = 1, id
	if e["cookie"] == nil {
		e["cookie"] = id
	}
	b, _ := json.Marshal(e)
	if err := os.WriteFile(filepath.Join(f.home, id+".json"), b, 0o600); err != nil {
		f.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(f.home, id+".lock"), nil, 0o600)
}

// Entries that name processes that are not provably the run's — another
// boot, start ticks that differ (pid reuse), another user, a group joined
// before the run began — read as stale and lead to no signal at all.
func TestStaleEntriesNeverSignalOthers(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	pid, start := spawnSleeper(t, dir, "mine", &syscall.SysProcAttr{Setpgid: true})
	// a process of another user: sleep(1) stands in, as nobody may not run
	// the helpers in the test's private directory
	nobody := exec.Command("sleep", "1000")
	nobody.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := nobody.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nobody.Process.Kill(); nobody.Wait() })
	other, otherStart := nobody.Process.Pid, startTicks(t, nobody.Process.Pid)
	boot := bootID(t)
	entries := map[string]map[string]any{
		"19a9bd2c0d100000001": {"pid": pid, "start": start, "pgid": pid, "boot_id": "another-boot", "tree": []map[string]any{{"pid": pid, "start": start}}},
		"19a9bd2c0d100000002": {"pid": pid, "start": start + 1, "pgid": 0, "boot_id": boot, "tree": []map[string]any{{"pid": pid, "start": start + 7}}},
		"19a9bd2c0d100000003": {"pid": other, "start": otherStart, "pgid": other, "boot_id": boot, "tree": []map[string]any{{"pid": other, "start": otherStart}}},
		"19a9bd2c0d100000004": {"pid": 1, "start": start + 100, "pgid": pid, "boot_id": boot},
	}
	for id, e := range entries {
		f.writeEntry(id, e)
	}
	rows := f.ps()
	if len(rows) != len(entries) {
		t.Fatalf("ps: %v", rows)
	}
	for _, r := range rows {
		if r["state"] != "stale" || r["processes"].(float64) != 0 {
			t.Errorf("entry %v: state %v, %v processes; want stale with none", r["run_id"], r["state"], r["processes"])
		}
	}
	out, stderr, code := f.run("reap", "--json", "--grace", "100ms")
	if code != 0 {
		t.Fatalf("reap: exit %d: %s", code, stderr)
	}
	if strings.Contains(out, `"pid"`) {
		t.Errorf("reap signalled something: %s", out)
	}
	if !alive(pid) || !alive(other) {
		t.Fatal("a process that was not the run's was killed")
	}
	if rows := f.ps(); len(rows) != 0 {
		t.Fatalf("stale entries not cleared: %v", rows)
	}
}

// Hostile registries are refused with a message that says how to fix them;
// nothing is signalled.
func TestHostileRegistries(t *testing.T) {
	f := newFixture(t)
	real := filepath.Join(t.TempDir(), "real")
	os.Mkdir(real, 0o700)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(real, link)
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	foreign := filepath.Join(t.TempDir(), "foreign")
	os.Mkdir(foreign, 0o700)
	os.Chown(foreign, 65534, 65534)
	for _, c := range []struct{ dir, want string }{
		{link, "is a symlink"},
		{open, "chmod 700"},
		{foreign, "owned by uid 65534"},
	} {
		env := append(f.env, "CLAUDE_GUARD_HOME="+c.dir)
		for _, args := range [][]string{{"ps"}, {"reap"}, {"kill", "--all"}} {
			cmd := exec.Command(guardBinary(t), args...)
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), c.want) || !strings.Contains(stderr.String(), c.dir) {
				t.Errorf("%v on %s: exit %d, %q", args, c.dir, cmd.ProcessState.ExitCode(), stderr.String())
			}
		}
	}
}

// An unusable registry costs the run one warning, or the run itself with
// --strict.
func TestUnusableRegistry(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	f.env = append(f.env, "CLAUDE_GUARD_HOME="+filepath.Join(file, "registry"))
	_, stderr, code := f.run(helperPath(t, "fakeclaude"), "pid=ran", "exit=3")
	if code != 3 || strings.Count(stderr, "claude-guard: ") != 1 || !strings.Contains(stderr, "registry unusable") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	os.Remove(f.path("ran"))
	_, stderr, code = f.run("--strict", helperPath(t, "fakeclaude"), "pid=ran", "exit=3")
	if code != 1 || !strings.Contains(stderr, "claude-guard: ") {
		t.Fatalf("--strict: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(f.path("ran")); err == nil {
		t.Fatal("--strict started the command")
	}
}
