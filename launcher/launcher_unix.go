//go:build unix

package launcher

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-guard/claude-guard/killtree"
)

// Signals are the signals the guard takes from its parent and passes to the
// child's process group (see NotifySignals). The first fatalSignals are
// those whose arrival would end a Go program that has not registered them.
var Signals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGALRM}

const fatalSignals = 4

type waitEvent struct {
	pid int
	ws  unix.WaitStatus
}

type spawned struct {
	child    killtree.Proc
	err      error
	inCgroup bool // false: clone3 refused the cgroup, the child started without it
}

// guardOS is what a guard has on unix only.
type guardOS struct {
	tty bool           // the child's group was made the terminal's foreground
	own chan os.Signal // signals the guard handles itself
}

func run(cfg Config, path string, rec *record) (Status, error) {
	g := &guard{cfg: cfg, rec: rec, daemon: newDaemonOut(),
		guardOS: guardOS{tty: isTerminal(os.Stdin) && isForeground(), own: make(chan os.Signal, 16)}}
	// The signals the guard handles itself are registered in the
	// background, never stopped: none of them ends the guard before, and
	// each is a round trip to the runtime's signal thread. SIGCHLD only
	// matters once wait4 has found no child; SIGTSTP and SIGCONT once the
	// shell stops or continues the job. (SIGPIPE, which makes a reader of
	// stdout going away an EPIPE for the copier, is NotifySignals'.)
	go signal.Notify(g.own, unix.SIGCHLD, unix.SIGCONT, unix.SIGTSTP)
	var err error
	if g.subreaper, err = becomeSubreaper(); err != nil {
		cfg.Warn("cannot become a subreaper, orphans will be found by cookie only: %v", err)
	}

	stdout := os.Stdout
	var pr *os.File
	if sniffStdout(cfg) {
		var err error
		if pr, stdout, err = os.Pipe(); err != nil {
			return Status{}, errorf(1, "pipe: %v", err)
		}
		growPipe(stdout.Fd())
	}
	// The guard stays outside the run's cgroup: only the child starts in it.
	cg, cgfd := runCgroup(rec.entry.RunID)
	// syscall.StartProcess, not os.StartProcess: the latter forks a probe
	// child on first use to test pidfd support, on every launch.
	attr := &syscall.ProcAttr{
		Env:   childEnv(rec.entry.RunID),
		Files: []uintptr{0, stdout.Fd(), 2},
		Sys:   sysProcAttr(g.tty, cgfd),
	}
	if cfg.SignalsUp != nil {
		<-cfg.SignalsUp
	}
	events := make(chan waitEvent, 64)
	kick := make(chan struct{}, 1)
	started := make(chan spawned, 1)
	go waitLoop(path, cfg.Argv, attr, started, events, kick)
	sp := <-started
	if stdout != os.Stdout {
		stdout.Close()
	}
	if cg != nil {
		unix.Close(cgfd)
		if sp.err == nil && sp.inCgroup {
			g.cg = cg
			g.daemon.setRunCgroup(cg)
			rec.setCgroup(cg.Path)
		} else {
			_ = cg.Remove()
		}
	}
	if sp.err != nil {
		if pr != nil {
			pr.Close()
		}
		return Status{}, startError(cfg.Argv[0], sp.err)
	}
	g.child = sp.child
	if pr != nil {
		unpin() // a copier streams faster on every CPU (see OneCPU)
	}
	rec.started(g.child)

	var copied chan struct{}
	if pr != nil {
		copied = make(chan struct{})
		go copyStdout(pr, rec, copied)
	}
	// The watchdog starts beside the child's run: a fork and exec of this
	// binary need not delay anything before the child's end.
	watchdogUp := make(chan struct{})
	if cfg.NoWatchdog {
		g.reapEarlier()
		close(watchdogUp)
	} else {
		go func() {
			g.watch()
			close(watchdogUp)
		}()
	}
	reg, _ := rec.registry()
	takeDaemonOut := func() { g.daemon.takeDaemonOut(reg) }
	stopWatch := watchRun(rec, g.child, takeDaemonOut, g.exclude)

	st := g.loop(events, kick)
	g.end(stopWatch, watchdogUp, pr, copied)
	return st, nil
}

// waitLoop starts the child and then owns wait4 for the life of the guard: it
// collects the child's status and reaps the orphans the subreaper adopts, so
// no other waiter can steal a status. It keeps its OS thread locked, because
// Pdeathsig fires when the thread that forked the child exits.
func waitLoop(path string, argv []string, attr *syscall.ProcAttr, started chan<- spawned, events chan<- waitEvent, kick <-chan struct{}) {
	runtime.LockOSThread()
	var pid int
	var err error
	inCgroup := true
	withAllCPUs(func() {
		pid, _, err = syscall.StartProcess(path, argv, attr)
		if err != nil && retryable(err) && dropCgroup(attr.Sys) {
			inCgroup = false
			pid, _, err = syscall.StartProcess(path, argv, attr)
		}
	})
	if err != nil {
		started <- spawned{err: err}
		return
	}
	// Read the child's identity before it can be reaped: a zombie still has it.
	child, err := killtree.Lookup(pid)
	if err != nil {
		child = killtree.Proc{ID: killtree.ID{PID: pid}, PGID: pid}
	}
	started <- spawned{child: child, inCgroup: inCgroup}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WUNTRACED, nil)
		switch {
		case err == nil:
			events <- waitEvent{pid, ws}
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.ECHILD):
			// No children now; an orphan adopted later announces its
			// death with SIGCHLD.
			<-kick
		default:
			return
		}
	}
}

// release takes the terminal back from the child's group.
func (g *guard) release() {
	if g.tty {
		takeTerminal()
	}
}

// loop runs until the child exits and returns its status.
func (g *guard) loop(events <-chan waitEvent, kick chan<- struct{}) Status {
	var graceUp <-chan time.Time
	for {
		select {
		case ev := <-events:
			if ev.pid != g.child.PID {
				continue // an adopted orphan, reaped
			}
			switch {
			case ev.ws.Stopped():
				g.childStopped(ev.ws.StopSignal())
			case ev.ws.Signaled():
				return Status{Signal: ev.ws.Signal()}
			case ev.ws.Exited():
				return Status{Code: ev.ws.ExitStatus()}
			}
		case s := <-g.cfg.Signals:
			sig := s.(syscall.Signal)
			g.forward(sig)
			if sig == unix.SIGTERM || sig == unix.SIGHUP {
				if g.ending && sig == unix.SIGTERM {
					g.killAll()
				} else if !g.ending {
					g.ending = true
					graceUp = time.After(g.cfg.Grace)
				}
			}
		case s := <-g.own:
			switch s {
			case unix.SIGCHLD:
				select {
				case kick <- struct{}{}:
				default:
				}
			case unix.SIGCONT:
				if g.tty && isForeground() {
					giveTerminal(g.child.PGID)
				}
				g.forward(unix.SIGCONT)
			case unix.SIGTSTP:
				g.forward(unix.SIGTSTP)
			}
		case <-graceUp:
			g.killAll()
		}
	}
}

// forward passes sig to the child's process group. The group cannot be
// another's while the child is unreaped: its leader's pid is held.
func (g *guard) forward(sig syscall.Signal) {
	_ = unix.Kill(-g.child.PGID, sig)
}

// childStopped follows the child into a stop, the way sudo does: the guard
// takes the terminal back and stops itself, so the shell regains control;
// SIGCONT (fg, bg) brings both back.
func (g *guard) childStopped(sig syscall.Signal) {
	if g.tty {
		takeTerminal()
	}
	switch sig {
	case unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
	default:
		sig = unix.SIGSTOP
	}
	stopSelf(sig)
	// Back after SIGCONT, whose handler continues the child.
}

// retryable tells the errors of clone3 refusing the cgroup from those of
// the command itself (not found, not executable), which a second try
// without the cgroup would only repeat.
func retryable(err error) bool {
	for _, e := range []error{unix.ENOENT, unix.EACCES, unix.ENOEXEC, unix.ENOTDIR, unix.ELOOP, unix.E2BIG, unix.ETXTBSY} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}
