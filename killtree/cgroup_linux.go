package killtree

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	mountOnce sync.Once
	mountDir  string
	mountErr  error
)

// cgroupMount finds the cgroup v2 hierarchy: where systemd and container
// runtimes mount it (a statfs each, on every launch), else from mountinfo.
// A sub-cgroup bind-mounted there instead of the root would shift the paths
// joined below it: then the run's cgroup is made where that shifted path
// leads, a cgroup of its own all the same, or cannot be made and the run
// goes without.
func cgroupMount() (string, error) {
	mountOnce.Do(func() {
		for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
			var st unix.Statfs_t
			if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				mountDir = dir
				return
			}
		}
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			mountErr = fmt.Errorf("killtree: %w", err)
			return
		}
		mountDir, mountErr = parseMountinfo(b)
	})
	return mountDir, mountErr
}

// parseMountinfo finds the cgroup2 mount point in /proc/self/mountinfo: the
// fifth field of the line whose filesystem type, after the " - " separator,
// is cgroup2. Only a mount of the hierarchy's root (fourth field "/") will
// do: a bind mount of a sub-cgroup would shift every path.
func parseMountinfo(b []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || g[0] != "cgroup2" || f[3] != "/" {
			continue
		}
		return unescapeMount(f[4]), nil
	}
	return "", errors.New("killtree: no cgroup v2 mounted")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				out = append(out, byte(n))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

// parseProcCgroup finds the v2 path ("0::/path") in /proc/<pid>/cgroup.
func parseProcCgroup(b []byte) (string, error) {
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok && strings.HasPrefix(p, "/") {
			// A process of a cgroup removed meanwhile reads "/x (deleted)".
			if strings.HasSuffix(p, " (deleted)") {
				return "", errors.New("killtree: own cgroup deleted")
			}
			return filepath.Clean(p), nil
		}
	}
	return "", errors.New("killtree: not in a cgroup v2")
}

func ownCgroup() (string, error) { return procCgroup("self") }

func procCgroup(pid string) (string, error) {
	mount, err := cgroupMount()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("killtree: %w", err)
	}
	rel, err := parseProcCgroup(b)
	if err != nil {
		return "", err
	}
	return filepath.Join(mount, rel), nil
}

// base makes <own>/claude-guard. It holds no process itself, so it may
// enable controllers for the cgroups below it (memory, for memory.current)
// where <own> offers them; "no internal processes" forbids that for <own>.
func base() (string, error) {
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(own, CgroupDir)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("killtree: cgroup: %w", err)
	}
	if err := checkCgroupDir(dir); err != nil {
		return "", err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil {
		for _, c := range []string{"memory", "pids"} {
			if slicesContains(strings.Fields(string(b)), c) {
				_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0)
			}
		}
	}
	return dir, nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func newCgroup(name string) (*Cgroup, error) {
	dir, err := base()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("killtree: cgroup: %w", err)
	}
	return &Cgroup{Path: path}, nil
}

func cgroupUsable() (string, error) {
	c, err := newCgroup("probe-" + strconv.Itoa(os.Getpid()))
	if err != nil {
		return "", err
	}
	defer c.remove()
	// Creating is not enough: a process must be able to join it.
	if err := unix.Access(filepath.Join(c.Path, "cgroup.procs"), unix.W_OK); err != nil {
		return "", fmt.Errorf("killtree: %s/cgroup.procs not writable: %w", c.Path, err)
	}
	return filepath.Dir(c.Path), nil
}

// checkCgroupDir refuses a path with a symlink in it, a directory not on a
// cgroup2 filesystem, or one owned by another user.
func checkCgroupDir(path string) error {
	if real, err := filepath.EvalSymlinks(path); err != nil || real != path {
		return fmt.Errorf("killtree: cgroup %s: not a plain directory", path)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("killtree: cgroup %s: %w", path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("killtree: %s is not a cgroup v2 directory", path)
	}
	var fi unix.Stat_t
	if err := unix.Lstat(path, &fi); err != nil {
		return fmt.Errorf("killtree: cgroup %s: %w", path, err)
	}
	if int(fi.Uid) != os.Geteuid() {
		return fmt.Errorf("killtree: cgroup %s belongs to uid %d", path, fi.Uid)
	}
	return nil
}

func (c *Cgroup) fd() (int, error) {
	fd, err := unix.Open(c.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("killtree: open cgroup: %w", err)
	}
	return fd, nil
}

// dirs lists the cgroup and every cgroup below it, parents first.
func (c *Cgroup) dirs() []string {
	out := []string{c.Path}
	for i := 0; i < len(out); i++ {
		ents, err := os.ReadDir(out[i])
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				out = append(out, filepath.Join(out[i], e.Name()))
			}
		}
	}
	return out
}

func readPids(path string) []int {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func (c *Cgroup) procs() []ID {
	var out []ID
	for _, d := range c.dirs() {
		for _, pid := range readPids(filepath.Join(d, "cgroup.procs")) {
			if p, err := lookup(pid); err == nil && !p.Zombie {
				out = append(out, p.ID)
			}
		}
	}
	return out
}

func (c *Cgroup) has(pid int) (bool, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false, ErrGone
	}
	rel, err := parseProcCgroup(b)
	if err != nil {
		return false, err
	}
	mount, _ := cgroupMount()
	p := filepath.Join(mount, rel)
	return p == c.Path || strings.HasPrefix(p, c.Path+"/"), nil
}

func (c *Cgroup) populated() bool {
	b, err := os.ReadFile(filepath.Join(c.Path, "cgroup.events"))
	if err != nil {
		return false
	}
	return keyValue(b, "populated") != "0"
}

// keyValue returns the value of key in a flat-keyed cgroup file
// ("populated 1\nfrozen 0\n").
func keyValue(b []byte, key string) string {
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *Cgroup) kill() error {
	err := os.WriteFile(filepath.Join(c.Path, "cgroup.kill"), []byte("1"), 0)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Before 5.14: freeze, so nothing forks while each member is killed;
	// a frozen process still dies of SIGKILL once thawed.
	freeze := filepath.Join(c.Path, "cgroup.freeze")
	if err := os.WriteFile(freeze, []byte("1"), 0); err == nil {
		defer os.WriteFile(freeze, []byte("0"), 0)
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			b, _ := os.ReadFile(filepath.Join(c.Path, "cgroup.events"))
			if keyValue(b, "frozen") == "1" {
				break
			}
		}
	}
	for _, d := range c.dirs() {
		for _, pid := range readPids(filepath.Join(d, "cgroup.procs")) {
			_ = unix.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

func (c *Cgroup) remove() error {
	// The common end: no cgroup below it, one rmdir.
	if err := unix.Rmdir(c.Path); err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	ds := c.dirs()
	var err error
	for i := len(ds) - 1; i >= 0; i-- {
		if e := unix.Rmdir(ds[i]); e != nil && !errors.Is(e, unix.ENOENT) {
			err = fmt.Errorf("killtree: remove cgroup %s: %w", ds[i], e)
		}
	}
	return err
}

func (c *Cgroup) stats() (CgroupStats, error) {
	var s CgroupStats
	b, err := os.ReadFile(filepath.Join(c.Path, "cpu.stat"))
	if err != nil {
		return s, fmt.Errorf("killtree: cgroup stats: %w", err)
	}
	s.CPUUsec, _ = strconv.ParseUint(keyValue(b, "usage_usec"), 10, 64)
	num := func(name string) uint64 {
		b, _ := os.ReadFile(filepath.Join(c.Path, name))
		n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
	s.MemoryBytes, s.MemoryPeak = num("memory.current"), num("memory.peak")
	return s, nil
}

func (c *Cgroup) move(pid int) error {
	err := os.WriteFile(filepath.Join(c.Path, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	if err != nil {
		return fmt.Errorf("killtree: move %d to %s: %w", pid, c.Path, err)
	}
	return nil
}

func removeEmptyCgroups(age time.Duration) int {
	own, err := ownCgroup()
	if err != nil {
		return 0
	}
	dir := filepath.Join(own, CgroupDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		fi, err := e.Info()
		if !e.IsDir() || err != nil || !validCgroupName(e.Name()) || time.Since(fi.ModTime()) < age {
			continue
		}
		c := &Cgroup{Path: filepath.Join(dir, e.Name())}
		if checkCgroupDir(c.Path) == nil && !c.populated() && c.remove() == nil {
			n++
		}
	}
	return n
}
