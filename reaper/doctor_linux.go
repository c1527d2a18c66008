package reaper

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

func containment() []Mechanism {
	var out []Mechanism
	// Try it on ourselves, then undo: a seccomp filter or an old kernel
	// refuses it where the flag exists.
	err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	if err == nil {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}
	out = append(out, mech("subreaper", err, "orphans reparent to the guard while it lives"))
	out = append(out, Mechanism{Name: "pdeathsig", Available: true, Detail: "claude dies with its guard"})
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err == nil {
		unix.Close(fd)
	}
	out = append(out, mech("pidfd", err, "signals reach exactly the process meant"))
	out = append(out, cgroupDelegation())
	out = append(out, Mechanism{Name: "job objects", Detail: "windows only"})
	return out
}

func mech(name string, err error, what string) Mechanism {
	if err != nil {
		return Mechanism{Name: name, Detail: err.Error()}
	}
	return Mechanism{Name: name, Available: true, Detail: what}
}

// cgroupDelegation: cgroup v2 is mounted and the caller's own cgroup is
// writable, so a run could get a cgroup of its own.
func cgroupDelegation() Mechanism {
	m := Mechanism{Name: "cgroup v2"}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		m.Detail = "not mounted at /sys/fs/cgroup (cgroup v1 or none)"
		return m
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		m.Detail = err.Error()
		return m
	}
	var rel string
	for _, l := range bytes.Split(b, []byte("\n")) {
		if p, ok := strings.CutPrefix(string(l), "0::"); ok {
			rel = p
		}
	}
	dir := filepath.Join("/sys/fs/cgroup", rel)
	if err := unix.Access(dir, unix.W_OK); err != nil {
		m.Detail = dir + " is not delegated to you (not writable)"
		return m
	}
	m.Available, m.Detail = true, "delegated: "+dir
	return m
}
