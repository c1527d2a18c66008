//go:build linux

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A process that claude's daemon.status.json names (pid and start ticks) is
// claude's daemon: a guarded run that started it ends without it; it gets an
// entry of its own, re-watched when its watcher dies, never reaped while it
// lives; kill daemon ends it, audited.
func TestDaemonStatusFile(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(filepath.Dir(f.home), "claudecfg")
	os.MkdirAll(cfg, 0o700)
	g := f.guard("--grace", "200ms", helperPath(t, "fakeclaude"), "setsid=daemon", "setsid=other", "waitfile=go")
	daemon, other := f.pid("daemon"), f.pid("other")
	t.Cleanup(func() { syscall.Kill(daemon, syscall.SIGKILL); syscall.Kill(other, syscall.SIGKILL) })
	writeDaemonStatus(t, cfg, daemon)
	// the guard finds it within a tick of its record
	row := f.waitDaemonRow(func(r map[string]any) bool { return r["state"] == "running" })
	f.touch("go")
	if err := g.Wait(); err != nil {
		t.Fatalf("guard: %v", err)
	}
	waitGone(t, other) // the run's other process is ended as ever
	if !alive(daemon) {
		t.Fatal("the run's cleanup ended the daemon")
	}
	if row["kind"] != "daemon" || row["config_dir"] != cfg || int(row["pid"].(float64)) != daemon {
		t.Fatalf("daemon row %v", row)
	}
	watcher := int(row["guard_pid"].(float64))

	// its watcher dies: the entry is stale, the daemon lives; reap watches
	// it again and never ends it
	syscall.Kill(watcher, syscall.SIGKILL)
	waitGone(t, watcher)
	if _, stderr, code := f.run("reap", "--grace", "200ms"); code != 0 {
		t.Fatalf("reap: %d %s", code, stderr)
	}
	if !alive(daemon) {
		t.Fatalf("reap ended a live daemon whose watcher died; audit: %s", f.auditLog())
	}
	row = f.waitDaemonRow(func(r map[string]any) bool {
		return r["state"] == "running" && int(r["guard_pid"].(float64)) != watcher
	})

	// kill --all leaves it: it belongs to every client of its configuration
	if _, stderr, code := f.run("kill", "--all", "--grace", "200ms"); code != 0 {
		t.Fatalf("kill --all: %d %s", code, stderr)
	}
	if !alive(daemon) {
		t.Fatal("kill --all ended the daemon")
	}

	// kill daemon ends it, audited with why
	out, stderr, code := f.run("kill", "--grace", "200ms", "daemon")
	if code != 0 {
		t.Fatalf("kill daemon: %d %q %s", code, out, stderr)
	}
	waitGone(t, daemon)
	if a := f.auditLog(); !strings.Contains(a, fmt.Sprint(daemon)) || !strings.Contains(a, "claude's daemon") {
		t.Errorf("audit log lacks the daemon's kill:\n%s", a)
	}
	// its watcher removes the entry
	if !poll(10*time.Second, func() bool { return len(f.ps()) == 0 }) {
		t.Fatalf("entries left: %v", f.ps())
	}
}

// writeDaemonStatus makes pid claude's daemon of cfg, as claude's status file
// names it, and returns its start ticks.
func writeDaemonStatus(t *testing.T, cfg string, pid int) uint64 {
	t.Helper()
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	status := fmt.Sprintf(`{"supervisorPid": %d, "supervisorProcStart": "%d", "workers": {}}`, pid, st.start)
	if err := os.WriteFile(filepath.Join(cfg, "daemon.status.json"), []byte(status), 0o600); err != nil {
		t.Fatal(err)
	}
	return st.start
}

func (f *fixture) waitDaemonRow(ok func(map[string]any) bool) map[string]any {
	f.t.Helper()
	var row map[string]any
	if !poll(10*time.Second, func() bool {
		for _, r := range f.ps() {
			if r["kind"] == "daemon" && ok(r) {
				row = r
				return true
			}
		}
		return false
	}) {
		f.t.Fatalf("no daemon row as wanted: %v", f.ps())
	}
	return row
}

func (f *fixture) auditLog() string {
	b, _ := os.ReadFile(filepath.Join(f.home, "audit.log"))
	return string(b)
}

// What claude's daemon forks between two records of its watcher (a spare
// pty host, respawned within milliseconds) is in the daemon's own cgroup:
// when the daemon is SIGKILLed and nothing re-adopts it within the window,
// it is ended with the rest, though no record ever named it.
func TestDaemonForkBetweenRecords(t *testing.T) {
	f := modeFixture(t, "cgroup")
	f.env = append(f.env, "CLAUDE_GUARD_DAEMON_ADOPT=500ms")
	cfg := filepath.Join(filepath.Dir(f.home), "claudecfg")
	os.MkdirAll(cfg, 0o700)
	// The daemon starts in a session of its own and, once told, forks a
	// sleeper with no environment (no cookie, no session) in one more.
	g := f.guard("--grace", "200ms", "sh", "-c",
		"setsid fakeclaude pid=daemon waitfile=spawn clearenv=spare block </dev/null >/dev/null 2>&1 & fakeclaude waitfile=go")
	daemon := f.pid("daemon")
	t.Cleanup(func() { syscall.Kill(daemon, syscall.SIGKILL) })
	start := writeDaemonStatus(t, cfg, daemon)
	row := f.waitDaemonRow(func(r map[string]any) bool { return r["state"] == "running" && r["cgroup"] != nil })
	if cg, _ := row["cgroup"].(string); !strings.HasSuffix(cg, fmt.Sprintf("/daemon-%d-%d", daemon, start)) {
		t.Fatalf("the daemon's row gives cgroup %q", cg)
	}
	f.touch("go")
	if err := g.Wait(); err != nil {
		t.Fatalf("guard: %v", err)
	}
	if !alive(daemon) {
		t.Fatal("the run's cleanup ended the daemon")
	}

	f.touch("spawn")
	spare := f.pid("spare")
	t.Cleanup(func() { syscall.Kill(spare, syscall.SIGKILL) })
	syscall.Kill(daemon, syscall.SIGKILL)
	killed := time.Now()
	waitGone(t, daemon)
	waitGone(t, spare)
	// not before claude had its window to re-adopt it
	if d := time.Since(killed); d < 500*time.Millisecond {
		t.Errorf("the spare was ended %v after the daemon's death, within the re-adoption window", d)
	}
	// the audit follows the kill
	if !poll(10*time.Second, func() bool {
		a := f.auditLog()
		return strings.Contains(a, "daemon died") && strings.Contains(a, strconv.Itoa(spare))
	}) {
		t.Errorf("the audit log does not record ending the spare %d:\n%s", spare, f.auditLog())
	}
	if !poll(10*time.Second, func() bool { return len(f.ps()) == 0 }) {
		t.Fatalf("entries left: %v", f.ps())
	}
}
