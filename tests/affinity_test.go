//go:build linux

package tests

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The guard keeps its own threads on the CPU it started on (their hand-offs
// are then switches rather than wake-ups of another CPU), unless it copies
// the command's stdout (stream-json): then they get every CPU back once the
// command runs. What it starts gets the CPUs the guard was given: the
// command, and the registry's watcher.
func TestCommandGetsTheGuardsCPUs(t *testing.T) {
	var given unix.CPUSet
	if err := unix.SchedGetaffinity(0, &given); err != nil || given.Count() < 2 {
		t.Skip("needs two CPUs")
	}
	f := newFixture(t)
	// The command reports its own CPUs, then each of its parent's (the
	// guard's) threads'. It waits for the guard to record it: until then the
	// thread that started it may still have the CPUs it started it with.
	script := `i=0; until grep -qE "\"pid\": ?$$[,}]" "$CLAUDE_GUARD_HOME"/*.json 2>/dev/null || [ $i = 1000 ]; do sleep 0.01; i=$((i+1)); done
grep Cpus_allowed_list /proc/self/status; grep -h Cpus_allowed_list /proc/$PPID/task/*/status`
	lists := func(out string) []string {
		var l []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			l = append(l, strings.TrimSpace(strings.TrimPrefix(line, "Cpus_allowed_list:")))
		}
		return l
	}
	ours := lists(readStatusLine(t, "/proc/self/status"))[0]

	out, stderr, code := f.run("sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	l := lists(out)
	if len(l) < 3 {
		t.Fatalf("too few lines: %q", out)
	}
	if l[0] != ours {
		t.Errorf("the command runs on CPUs %s, the guard was given %s", l[0], ours)
	}
	single := regexp.MustCompile(`^\d+$`)
	for _, g := range l[1:] {
		if g != l[1] || !single.MatchString(g) {
			t.Errorf("the guard's threads run on CPUs %v, not all on one", l[1:])
			break
		}
	}
	out, stderr, code = f.run("sh", "-c", script, "sh", "--output-format", "stream-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, g := range lists(out) {
		if g != ours {
			t.Errorf("copying stream-json, the command and the guard's threads run on CPUs %v, not %s", lists(out), ours)
			break
		}
	}
	ws := watchersOf(f.home)
	if len(ws) == 0 {
		t.Fatal("no watcher of the test's registry")
	}
	if w := lists(readStatusLine(t, "/proc/"+strconv.Itoa(ws[0])+"/status"))[0]; w != ours {
		t.Errorf("the watcher runs on CPUs %s, the guard was given %s", w, ours)
	}

	// Given one CPU, the guard and its command keep to it.
	last := 0
	for c := 0; c < len(given)*64; c++ {
		if given.IsSet(c) {
			last = c
		}
	}
	var one unix.CPUSet
	one.Set(last)
	cmd := exec.Command(guardBinary(t), "sh", "-c", script)
	cmd.Env, cmd.Dir = f.env, f.dir
	var b strings.Builder
	cmd.Stdout = &b
	runtime.LockOSThread()
	unix.SchedSetaffinity(0, &one)
	err := cmd.Start()
	unix.SchedSetaffinity(0, &given)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, c := range lists(b.String()) {
		if c != strconv.Itoa(last) {
			t.Fatalf("given CPU %d, the guard and its command run on %v", last, lists(b.String()))
		}
	}
}

func readStatusLine(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Cpus_allowed_list:") {
			return line
		}
	}
	t.Fatalf("%s: no Cpus_allowed_list", path)
	return ""
}
