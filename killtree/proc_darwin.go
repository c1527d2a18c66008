package killtree

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// p_stat of a process that exited and was not yet reaped (sys/proc.h).
const szomb = 5

func bootID() (string, error) {
	// A UUID the kernel draws at each boot (macOS 10.13 and later).
	if id, err := unix.Sysctl("kern.bootsessionuuid"); err == nil && id != "" {
		return id, nil
	}
	tv, err := unix.SysctlTimeval("kern.boottime")
	if err != nil {
		return "", fmt.Errorf("killtree: boot id: %w", err)
	}
	return strconv.FormatInt(tv.Sec, 10) + "." + strconv.FormatInt(int64(tv.Usec), 10), nil
}

func lookup(pid int) (Proc, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	switch {
	case errors.Is(err, unix.EIO):
		// The kernel answered with no record at all: no such process.
		return Proc{}, ErrGone
	case err != nil:
		return Proc{}, fmt.Errorf("killtree: kern.proc.pid.%d: %w", pid, err)
	case int(k.Proc.P_pid) != pid:
		return Proc{}, ErrGone
	}
	return fromKinfo(k), nil
}

// fromKinfo turns a kinfo_proc into a Proc. Start is p_starttime in
// microseconds since the epoch: the kernel stamps it once, at fork, so it
// names the process for its whole life. The resident size is not in
// kinfo_proc (e_vm is a dummy) and proc_pidinfo is libproc, which needs cgo;
// RSS stays 0.
func fromKinfo(k *unix.KinfoProc) Proc {
	st := k.Proc.P_starttime
	tty := int(k.Eproc.Tdev)
	if tty == -1 { // NODEV: no controlling terminal
		tty = 0
	}
	return Proc{
		ID:     ID{PID: int(k.Proc.P_pid), Start: uint64(st.Sec)*1_000_000 + uint64(st.Usec)},
		PPID:   int(k.Eproc.Ppid),
		PGID:   int(k.Eproc.Pgid),
		UID:    int(k.Eproc.Ucred.Uid), // effective uid, as /proc/<pid>'s owner on Linux
		TTY:    tty,
		Zombie: k.Proc.P_stat == szomb,
		Comm:   unix.ByteSliceToString(k.Proc.P_comm[:]),
	}
}

func all() ([]Proc, error) {
	ks, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("killtree: kern.proc.all: %w", err)
	}
	out := make([]Proc, 0, len(ks))
	for i := range ks {
		out = append(out, fromKinfo(&ks[i]))
	}
	return out, nil
}

// children scans every process's parent link: macOS keeps no list of a
// process's children that a user process can read.
func children(pid int) ([]int, error) {
	ks, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("killtree: kern.proc.all: %w", err)
	}
	var out []int
	for i := range ks {
		if int(ks[i].Eproc.Ppid) == pid && int(ks[i].Proc.P_pid) != pid {
			out = append(out, int(ks[i].Proc.P_pid))
		}
	}
	return out, nil
}

func procArgs(pid int) (procargs, error) {
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return procargs{}, fmt.Errorf("killtree: kern.procargs2.%d: %w", pid, err)
	}
	return parseProcargs(b)
}

func environ(pid int) ([]byte, error) {
	pa, err := procArgs(pid)
	if err != nil {
		return nil, err
	}
	return environBytes(pa.env), nil
}

// pin holds only the pid: macOS has no pidfd, so a pid freed and reused
// between the identity check and the kill could be hit; the window is a few
// microseconds, and pids are handed out in increasing order, so reuse within
// it needs the whole pid space to wrap around.
func pin(pid int, _ syscall.Signal) (pinned, error) { return pinned{pid: pid, fd: -1}, nil }

func (t pinned) kill(sig syscall.Signal) error { return unix.Kill(t.pid, sig) }

func cmdline(pid int) []string {
	pa, err := procArgs(pid)
	if err != nil || len(pa.argv) == 0 {
		return nil
	}
	return pa.argv
}

// cwd is not known: the working directory of another process is only
// reachable through libproc's proc_pidinfo (PROC_PIDVNODEPATHINFO), which
// needs cgo.
func cwd(pid int) string { return "" }
