package launcher

import (
	"errors"
	"os"
	"runtime"

	"github.com/claude-guard/claude-guard/killtree"
)

// CgroupEnv names the environment variable that turns the per-run cgroup
// off (CLAUDE_GUARD_CGROUP=off): runs are then contained the way they are
// where no cgroup can be had, by process group, cookie and recorded tree.
const CgroupEnv = "CLAUDE_GUARD_CGROUP"

// ContainmentInfo says how runs are contained on this system, and why.
type ContainmentInfo struct {
	Cgroup bool   `json:"cgroup"` // each run gets a cgroup of its own
	Mode   string `json:"mode"`
	Detail string `json:"detail"`        // the cgroup directory in use, or why none
	Fix    string `json:"fix,omitempty"` // what would give runs a cgroup, where something would
}

// Containment reports the containment a run started now would get, by the
// same test the launcher makes: a cgroup made and removed again.
func Containment() ContainmentInfo {
	const fallback = "process group, subreaper, cookie and recorded tree"
	if cgroupOff() {
		return ContainmentInfo{Mode: fallback, Detail: "cgroups turned off by " + CgroupEnv + "=off", Fix: "unset " + CgroupEnv}
	}
	dir, err := killtree.CgroupUsable()
	if err == nil {
		return ContainmentInfo{Cgroup: true, Mode: "cgroup v2 per run", Detail: "active at " + dir}
	}
	info := ContainmentInfo{Mode: fallback, Detail: err.Error()}
	switch {
	case runtime.GOOS != "linux", errors.Is(err, errors.ErrUnsupported):
		info.Detail = "cgroups are Linux's; " + runtime.GOOS + " has none"
	case errors.Is(err, os.ErrPermission):
		own, _ := killtree.OwnCgroup()
		info.Detail = "your cgroup " + own + " is not delegated to you (not writable): " + err.Error()
		info.Fix = "run it in a delegated scope: alias claude='systemd-run --user --scope -p Delegate=yes --quiet claude-guard claude'"
	default:
		if _, merr := killtree.CgroupMount(); merr != nil {
			info.Detail = "no cgroup v2 mounted"
			info.Fix = "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or mount it: mount -t cgroup2 none /sys/fs/cgroup"
		}
	}
	return info
}

func cgroupOff() bool { return os.Getenv(CgroupEnv) == "off" }

// runCgroup makes the run's cgroup and opens it for the child to start in.
// Where none can be had it returns nil and -1, and the run is contained the
// other way; doctor says why.
func runCgroup(runID string) (*killtree.Cgroup, int) {
	if cgroupOff() {
		return nil, -1
	}
	cg, err := killtree.NewCgroup(runID)
	if err != nil {
		return nil, -1
	}
	fd, err := cg.FD()
	if err != nil {
		_ = cg.Remove()
		return nil, -1
	}
	return cg, fd
}
