package launcher

import (
	"os"
	"strings"
	"sync"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// DaemonWatchCommand is the hidden subcommand that watches claude's
// background daemon of one configuration directory (reaper.WatchDaemon).
const DaemonWatchCommand = "__daemon-watch"

func init() { reaper.StartDaemonWatcher = startDaemonWatcher }

// daemonOut is claude's background daemon as the run last found it. The
// first client of `claude --bg`, `claude agents`, the TUI's "move to
// background" starts it (vfork, setsid, exec), and it outlives that client on
// purpose, with the client's environment and so the run's cookie: none of
// its processes is the run's.
type daemonOut struct {
	mu      sync.Mutex
	cfgDir  string
	procs   map[killtree.ID]bool // the daemon's tree, the tools of its sessions, its watcher
	watched killtree.ID          // the daemon whose watcher this run started
	watcher killtree.ID
	runCg   *killtree.Cgroup // the run's cgroup, which the daemon must leave
}

func newDaemonOut() *daemonOut {
	return &daemonOut{cfgDir: reaper.ClaudeConfigDir(), procs: map[killtree.ID]bool{}}
}

// setRunCgroup tells the run's cgroup, out of which the daemon is moved.
func (d *daemonOut) setRunCgroup(cg *killtree.Cgroup) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runCg = cg
}

// has reports whether p is the daemon's, not the run's.
func (d *daemonOut) has(p killtree.Proc) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.procs[p.ID] || (p.ID == d.watcher && p.PID != 0)
}

// takeDaemonOut takes claude's background daemon of the run's configuration,
// with everything it has started, out of the run: from here on the run's
// cleanup, its recorded tree and its watchdog's cookie sweep leave it alone
// (reaper.Snapshot.Members does the same for every run, by claude's status
// file), and it is handed to a watcher of its own that records it in the
// registry and ends what it leaves when it ends. Called on every tick of
// the run's record and once more before the run's cleanup.
//
// This is the one place where the daemon leaves the run: where runs have
// a cgroup of their own, the daemon's tree is moved into a cgroup of its
// own here, with d.procs, before the run's cgroup is ended.
func (d *daemonOut) takeDaemonOut(reg *pidfile.Registry) {
	if d.cfgDir == "" {
		return
	}
	daemon, ok := reaper.DaemonNear(d.cfgDir, os.Getpid())
	procs := map[killtree.ID]bool{}
	for _, p := range daemon.Procs {
		procs[p.ID] = true
	}
	d.mu.Lock()
	runCg := d.runCg
	d.mu.Unlock()
	if ok && runCg != nil {
		moveDaemon(runCg, daemon)
	}
	d.mu.Lock()
	d.procs = procs
	start := ok && reg != nil && daemon.ID != d.watched
	if start {
		d.watched = daemon.ID
	}
	d.mu.Unlock()
	if !start {
		return
	}
	// A watcher that finds another watching exits at once.
	if pid, err := startWatcherProcess(reg.Path(), d.cfgDir); err == nil {
		w := identity(pid)
		d.mu.Lock()
		d.watcher = w
		d.mu.Unlock()
	}
}

// startDaemonWatcher starts a watcher for the daemon of cfgDir, for
// reaper.ReapStale when a daemon's watcher died and the daemon did not.
func startDaemonWatcher(reg *pidfile.Registry, cfgDir string) error {
	_, err := startWatcherProcess(reg.Path(), cfgDir)
	return err
}

// watcherEnv is the environment of a daemon watcher: the caller's without
// run cookies, so no run's end or sweep ever counts it as its own.
func watcherEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pidfile.CookieEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// moveDaemon moves the daemon's tree, and its sessions' tools, out of the
// run's cgroup into one of its own beside it (daemon-<pid>-<start ticks>),
// so ending the run's cgroup leaves it alone. A failure leaves it in the
// run's cgroup, and so it ends with the run, as it would without a guard
// holding the run's exact membership.
func moveDaemon(runCg *killtree.Cgroup, daemon reaper.Daemon) {
	var in []killtree.Proc
	for _, p := range daemon.Procs {
		if runCg.Has(p.PID) {
			in = append(in, p)
		}
	}
	if len(in) == 0 {
		return
	}
	own, err := killtree.NewCgroup(killtree.DaemonCgroupName(daemon.ID))
	if err != nil {
		return
	}
	// The supervisor with all it forks meanwhile, parents first; then
	// what is the daemon's without descending from it.
	if killtree.Alive(daemon.ID) {
		_ = own.MoveTree(daemon.ID.PID)
	}
	for _, p := range in {
		if runCg.Has(p.PID) && killtree.Alive(p.ID) {
			_ = own.Move(p.PID)
		}
	}
}
