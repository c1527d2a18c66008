package killtree

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

var pageSize = uint64(os.Getpagesize())

func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("killtree: boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// lookup reads /proc/<pid>/stat with plain system calls (open, fstat, one
// read, close): it runs for every process of the machine on each scan. The
// file's owner is the process's, as its directory's is.
func lookup(pid int) (Proc, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Proc{}, ErrGone
	}
	var st unix.Stat_t
	var buf [1024]byte // a stat line is a few hundred bytes, returned by one read
	n := 0
	if err = unix.Fstat(fd, &st); err == nil {
		n, err = unix.Read(fd, buf[:])
	}
	unix.Close(fd)
	if err != nil || n <= 0 {
		return Proc{}, ErrGone
	}
	b := buf[:n]
	if n == len(buf) { // longer than expected: read it whole
		if b, err = os.ReadFile(path); err != nil {
			return Proc{}, ErrGone
		}
	}
	return statProc(pid, b, st)
}

func statProc(pid int, b []byte, st unix.Stat_t) (Proc, error) {
	p, err := parseStat(b)
	if err != nil {
		return Proc{}, err
	}
	if p.PID != pid {
		return Proc{}, fmt.Errorf("killtree: /proc/%d/stat names pid %d", pid, p.PID)
	}
	p.UID = int(st.Uid)
	return p, nil
}

// parseStat parses /proc/<pid>/stat. The command name sits between the first
// '(' and the last ')' and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (Proc, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return Proc{}, errors.New("killtree: malformed stat")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return Proc{}, errors.New("killtree: malformed stat pid")
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 || len(f[0]) != 1 {
		return Proc{}, errors.New("killtree: short stat")
	}
	num := func(n int) (int64, error) { return strconv.ParseInt(f[n-3], 10, 64) }
	var vals [5]int64
	for i, n := range []int{4, 5, 6, 7, 24} {
		if vals[i], err = num(n); err != nil {
			return Proc{}, fmt.Errorf("killtree: stat field %d: %w", n, err)
		}
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return Proc{}, fmt.Errorf("killtree: stat field 22: %w", err)
	}
	return Proc{
		ID:     ID{PID: pid, Start: start},
		PPID:   int(vals[0]),
		PGID:   int(vals[1]),
		SID:    int(vals[2]),
		TTY:    int(vals[3]),
		Zombie: f[0] == "Z" || f[0] == "X",
		Comm:   string(b[open+1 : end]),
		RSS:    uint64(max(vals[4], 0)) * pageSize,
	}, nil
}

func all() ([]Proc, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("killtree: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("killtree: read /proc: %w", err)
	}
	out := make([]Proc, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if p, err := lookup(pid); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

var (
	childrenOnce  sync.Once
	childrenFiles bool // kernel has /proc/<pid>/task/<tid>/children
)

// children lists the direct children of pid, through task/*/children where
// the kernel has it (CONFIG_PROC_CHILDREN), else by scanning every parent link.
func children(pid int) ([]int, error) {
	childrenOnce.Do(func() {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/children")
		childrenFiles = err == nil
	})
	if !childrenFiles {
		ps, err := all()
		if err != nil {
			return nil, err
		}
		var out []int
		for _, p := range ps {
			if p.PPID == pid {
				out = append(out, p.PID)
			}
		}
		return out, nil
	}
	if pid == os.Getpid() && noChildren() {
		return nil, nil // one syscall instead of a read per thread
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return nil, ErrGone
	}
	tids, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, ErrGone
	}
	var out []int
	for _, tid := range tids {
		b, err := os.ReadFile(dir + "/" + tid + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

func environ(pid int) ([]byte, error) {
	return os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
}

// pin opens a pidfd before the identity is read: a pid freed and reused
// after the open leaves the pidfd naming the old, dead process, so the
// signal sent through it cannot reach the new one.
func pin(pid int, _ syscall.Signal) (pinned, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case err == nil:
	case errors.Is(err, unix.ESRCH):
		return pinned{}, ErrGone
	case errors.Is(err, unix.ENOSYS):
		fd = -1 // kernel before 5.3: check then kill, with a tiny reuse window
	default:
		return pinned{}, fmt.Errorf("killtree: pidfd %d: %w", pid, err)
	}
	return pinned{pid: pid, fd: fd}, nil
}

func (t pinned) kill(sig syscall.Signal) error {
	if t.fd < 0 {
		return unix.Kill(t.pid, sig)
	}
	return unix.PidfdSendSignal(t.fd, sig, nil, 0)
}

func cmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func cwd(pid int) string {
	d, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return d
}

// noChildren reports whether the calling process has no child at all, not
// even a zombie: waitid answers ECHILD. WNOWAIT leaves any status to its
// waiter (the guard's wait loop owns them).
func noChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG|unix.WNOWAIT, nil)
	return errors.Is(err, unix.ECHILD)
}
