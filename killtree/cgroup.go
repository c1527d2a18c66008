package killtree

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A Cgroup is one cgroup v2 directory that claude-guard made: the exact,
// kernel-kept membership of a run (or of claude's background daemon). Every
// process started in it, and everything those fork, is a member however it
// forks, setsids or clears its environment, until it is moved out by someone
// with the rights to do so. The directory outlives the processes that made
// it, so it is a record too: after the guard and its watchdog both died, the
// next reap still finds every member.
//
// Cgroups live at <own>/claude-guard/<name>, <own> being the cgroup of the
// process that made them: the one place below its own cgroup a user can
// write to under systemd's delegation, a container's or root's. The guard
// itself never joins them.
type Cgroup struct {
	Path string // absolute path of the directory, under the v2 mount
}

// CgroupDir is the directory, below the caller's own cgroup, that holds the
// cgroups claude-guard makes.
const CgroupDir = "claude-guard"

// CgroupStats is what a cgroup says about its members' use of the machine.
type CgroupStats struct {
	CPUUsec     uint64 // cpu.stat usage_usec: CPU time, user and system
	MemoryBytes uint64 // memory.current, 0 when the memory controller is off
	MemoryPeak  uint64 // memory.peak, 0 when absent
}

// CgroupMount returns where the cgroup v2 hierarchy is mounted, as
// /proc/self/mountinfo says: /sys/fs/cgroup on most systems, but
// /sys/fs/cgroup/unified beside v1 controllers.
func CgroupMount() (string, error) { return cgroupMount() }

// OwnCgroup returns the directory of the caller's own cgroup.
func OwnCgroup() (string, error) { return ownCgroup() }

// CgroupOf returns the directory of pid's cgroup.
func CgroupOf(pid int) (string, error) { return procCgroup(strconv.Itoa(pid)) }

// DaemonCgroupName is the name of the cgroup of its own that claude's
// background daemon id is moved into, out of the run that started it.
func DaemonCgroupName(id ID) string {
	return "daemon-" + strconv.Itoa(id.PID) + "-" + strconv.FormatUint(id.Start, 10)
}

// CgroupUsable says whether NewCgroup can work here, and if not why: no
// cgroup v2, or the caller's own cgroup not writable (not delegated). It
// makes and removes a probe cgroup to be sure.
func CgroupUsable() (dir string, err error) { return cgroupUsable() }

// NewCgroup makes the cgroup <own>/claude-guard/<name>. name is a run id or
// "daemon-<id>", nothing that could climb out of the directory.
func NewCgroup(name string) (*Cgroup, error) {
	if !validCgroupName(name) {
		return nil, errors.New("killtree: bad cgroup name " + name)
	}
	return newCgroup(name)
}

// OpenCgroup returns the cgroup at path after checking that it is one
// claude-guard made for name: a directory <something>/claude-guard/<name>
// under the v2 mount, no symlinks in the way, owned by the caller. A path
// from a registry entry is untrusted: this is what keeps a forged entry from
// having an unrelated cgroup killed.
func OpenCgroup(path, name string) (*Cgroup, error) {
	if !validCgroupName(name) {
		return nil, errors.New("killtree: bad cgroup name " + name)
	}
	clean := filepath.Clean(path)
	if clean != path || !filepath.IsAbs(path) || filepath.Base(path) != name || filepath.Base(filepath.Dir(path)) != CgroupDir {
		return nil, errors.New("killtree: not a claude-guard cgroup: " + path)
	}
	mount, err := cgroupMount()
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(path, mount+"/") {
		return nil, errors.New("killtree: not under the cgroup v2 mount: " + path)
	}
	if err := checkCgroupDir(path); err != nil {
		return nil, err
	}
	return &Cgroup{Path: path}, nil
}

// RemoveEmptyCgroups removes the caller's claude-guard cgroups that are
// empty and were made more than age ago: leftovers of runs whose guard and
// watchdog died. Younger ones may belong to a run about to start its child
// in it. A populated one is never touched: it may be another registry's live
// run, or the processes a run kept (--keep-descendants).
func RemoveEmptyCgroups(age time.Duration) int { return removeEmptyCgroups(age) }

func validCgroupName(name string) bool {
	n := strings.TrimPrefix(name, "daemon-")
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return true
}

// FD opens the cgroup's directory for the child to start in it:
// SysProcAttr{UseCgroupFD: true, CgroupFD: fd} (clone3 CLONE_INTO_CGROUP),
// so the child is a member before its first instruction. The caller closes
// it.
func (c *Cgroup) FD() (int, error) { return c.fd() }

// Procs lists every member: of the cgroup and of any cgroup below it.
func (c *Cgroup) Procs() []ID { return c.procs() }

// Populated reports whether any process is left in the cgroup or below it
// (cgroup.events populated). A cgroup that is gone is not populated.
func (c *Cgroup) Populated() bool { return c.populated() }

// Kill SIGKILLs every member at once through cgroup.kill (kernel 5.14 and
// later); before that, the cgroup is frozen, each member SIGKILLed and the
// cgroup thawed, so nothing forks in between.
func (c *Cgroup) Kill() error { return c.kill() }

// Remove removes the cgroup and those below it, once empty. A cgroup still
// populated is left (EBUSY).
func (c *Cgroup) Remove() error { return c.remove() }

// Stats reads the members' CPU time and memory.
func (c *Cgroup) Stats() (CgroupStats, error) { return c.stats() }

// Has reports whether pid is a member of the cgroup or of one below it.
func (c *Cgroup) Has(pid int) bool {
	in, err := c.has(pid)
	return err == nil && in
}

// Move moves pid into the cgroup (the caller needs write access to the
// destination's cgroup.procs and to the common ancestor's).
func (c *Cgroup) Move(pid int) error { return c.move(pid) }

// MoveTree moves pid and all its descendants into the cgroup, parents before
// their children, and again until a pass moves nothing: a process forked by
// a parent during the move is caught on the next pass. This is how claude's
// background daemon, started by a run, is taken out of the run's cgroup into
// one of its own before the run's cgroup is killed.
func (c *Cgroup) MoveTree(pid int) error {
	for pass := 0; pass < 50; pass++ {
		root, err := lookup(pid)
		if err != nil {
			return err
		}
		tree := append([]Proc{root}, Descendants(pid)...)
		n := 0
		for _, p := range tree {
			if in, _ := c.has(p.PID); in {
				continue
			}
			if err := c.move(p.PID); err != nil {
				if _, gone := lookup(p.PID); gone != nil {
					continue
				}
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
	}
	return errors.New("killtree: move tree: still forking after 50 passes")
}

// End ends every member of the cgroup and every process find returns (those
// that left it, a second line): sig to each, up to grace for them to go, then
// cgroup.kill and SIGKILL for the rest. Nothing forked in between escapes:
// the kill takes the cgroup as it is then. The cgroup is removed once empty.
// find may be nil; noStop are as for End.
func (c *Cgroup) End(find func() []ID, sig syscall.Signal, grace time.Duration, noStop ...ID) Report {
	all := func() []ID {
		ids := c.procs()
		if find != nil {
			ids = append(ids, find()...)
		}
		return ids
	}
	var r Report
	if !c.populated() && (find == nil || len(live(find())) == 0) {
		// The common end of a run: nothing left. One look is enough.
		_ = c.remove()
		return r
	}
	first := live(all())
	if sig != 0 && sig != syscall.SIGKILL {
		for _, id := range first {
			if Signal(id, sig) == nil {
				r.Termed = append(r.Termed, id)
			}
		}
		if len(r.Termed) > 0 {
			deadline := time.Now().Add(grace)
			pause := time.Millisecond
			for time.Now().Before(deadline) && (c.populated() || len(live(r.Termed)) > 0) {
				time.Sleep(min(pause, time.Until(deadline)))
				pause = min(pause*2, 20*time.Millisecond)
			}
		}
	}
	if c.populated() {
		r.Killed = live(c.procs())
		_ = c.kill()
	}
	// What left the cgroup is ended the old way; the cgroup's own members
	// are SIGKILLed already and only waited for.
	rest := End(all, syscall.SIGKILL, 0, noStop...)
	r.Killed = append(r.Killed, rest.Killed...)
	r.Left = rest.Left
	for deadline := time.Now().Add(2 * time.Second); c.populated() && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	if c.populated() {
		r.Left = append(r.Left, live(c.procs())...)
	}
	_ = c.remove()
	r.Killed, r.Left = dedupeIDs(r.Killed), dedupeIDs(r.Left)
	return r
}

// dedupeIDs drops repeated identities, keeping the first.
func dedupeIDs(ids []ID) []ID {
	seen := map[ID]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
