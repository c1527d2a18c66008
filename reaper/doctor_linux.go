package reaper

import (
	"os"

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
	// Whether a run gets a cgroup is the launcher's to say (DoctorInput.Active).
	out = append(out, Mechanism{Name: "cgroup v2", Detail: "not asked"})
	out = append(out, Mechanism{Name: "job objects", Detail: "windows only"})
	return out
}

func mech(name string, err error, what string) Mechanism {
	if err != nil {
		return Mechanism{Name: name, Detail: err.Error()}
	}
	return Mechanism{Name: name, Available: true, Detail: what}
}
