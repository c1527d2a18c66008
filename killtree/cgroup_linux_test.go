package killtree

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseMountinfo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"25 30 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup"},
		{"31 24 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/unified"},
		{"41 31 0:38 / /mnt/with\\040space rw shared:5 - cgroup2 none rw\n", "/mnt/with space"},
		// a bind mount of a sub-cgroup is skipped, the root mount found
		{"50 1 0:38 /a/b /x rw - cgroup2 cgroup2 rw\n51 1 0:38 / /y rw - cgroup2 cgroup2 rw\n", "/y"},
	} {
		got, err := parseMountinfo([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("parseMountinfo(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "31 24 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "garbage"} {
		if got, err := parseMountinfo([]byte(in)); err == nil {
			t.Errorf("parseMountinfo(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0::/\n", "/"},
		{"9:name=systemd:/\n4:memory:/x\n0::/user.slice/user-1000.slice/session-2.scope\n", "/user.slice/user-1000.slice/session-2.scope"},
	} {
		got, err := parseProcCgroup([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("parseProcCgroup(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "4:memory:/x\n", "0::/gone (deleted)\n", "0::relative\n"} {
		if got, err := parseProcCgroup([]byte(in)); err == nil {
			t.Errorf("parseProcCgroup(%q) = %q, want an error", in, got)
		}
	}
}

func TestValidCgroupName(t *testing.T) {
	for _, ok := range []string{"019ac1d2e3f4a5b6c7d", "daemon-1234", "probe-77"} {
		if !validCgroupName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "..", "a/b", "daemon-", "../x", "A", "x y"} {
		if validCgroupName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOpenCgroupRefusesForeignPaths(t *testing.T) {
	mount, err := CgroupMount()
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	id := "019ac1d2e3f4a5b6c7d"
	for _, p := range []string{
		mount,                                    // the root
		mount + "/system.slice",                  // not ours
		mount + "/claude-guard/other",            // another name
		mount + "/x/../claude-guard/" + id,       // not clean
		"/tmp/claude-guard/" + id,                // not under the mount
		mount + "/claude-guard/" + id + "/../..", // climbing
	} {
		if _, err := OpenCgroup(p, id); err == nil {
			t.Errorf("OpenCgroup(%q) accepted", p)
		}
	}
}

// A tree started in one cgroup is moved whole into another (as claude's
// daemon is taken out of the run that started it), and ending the first
// then leaves it alone.
func TestMoveTreeThenKill(t *testing.T) {
	if _, err := CgroupUsable(); err != nil {
		t.Skipf("no usable cgroup here: %v", err)
	}
	run, err := NewCgroup(fmt.Sprintf("probe-run-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := NewCgroup(fmt.Sprintf("daemon-test-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	fd, err := run.FD()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `sleep 1000 & sleep 1000 & sh -c 'sleep 1000 & wait' & : > "$1"; wait`, "sh", filepath.Join(dir, "ready"))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	t.Cleanup(func() {
		daemon.Kill()
		run.Kill()
		cmd.Wait()
		for run.Populated() || daemon.Populated() {
			time.Sleep(time.Millisecond)
		}
		run.Remove()
		daemon.Remove()
	})
	for _, err := os.Stat(filepath.Join(dir, "ready")); err != nil; _, err = os.Stat(filepath.Join(dir, "ready")) {
		time.Sleep(time.Millisecond)
	}
	before := run.Procs()
	if len(before) < 4 {
		t.Fatalf("run cgroup holds %v", before)
	}
	if err := daemon.MoveTree(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if left := run.Procs(); len(left) != 0 {
		t.Fatalf("left in the run's cgroup: %v", left)
	}
	moved := map[ID]bool{}
	for _, id := range daemon.Procs() {
		moved[id] = true
	}
	for _, id := range before {
		if !moved[id] {
			t.Fatalf("%v not moved: moved %v, had %v", id, moved, before)
		}
	}
	rep := run.End(nil, syscall.SIGTERM, 100*time.Millisecond)
	if len(rep.Termed)+len(rep.Killed) != 0 || !Alive(before[0]) {
		t.Fatalf("ending the run reached the moved tree: %+v", rep)
	}
	if st, err := daemon.Stats(); err != nil {
		t.Errorf("stats: %v", err)
	} else {
		t.Logf("daemon cgroup: %+v", st)
	}
	if err := daemon.Kill(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); daemon.Populated(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still populated after cgroup.kill: %v", daemon.Procs())
		}
	}
}

// Remove takes the cgroups a run made below its own with it.
func TestRemoveWithCgroupsBelow(t *testing.T) {
	if _, err := CgroupUsable(); err != nil {
		t.Skipf("no usable cgroup here: %v", err)
	}
	cg, err := NewCgroup(fmt.Sprintf("remove-test-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	below := filepath.Join(cg.Path, "a", "b")
	if err := os.MkdirAll(below, 0o755); err != nil {
		cg.Remove()
		t.Fatal(err)
	}
	if err := cg.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cg.Path); !os.IsNotExist(err) {
		t.Fatalf("%s still there: %v", cg.Path, err)
	}
	if err := cg.Remove(); err != nil {
		t.Fatalf("removing it again: %v", err)
	}
}
