package launcher

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"github.com/claude-guard/claude-guard/killtree"
)

// Signals are the console events the guard takes: os.Interrupt (Ctrl+C,
// Ctrl+Break) and SIGTERM (console closed, logoff, shutdown). Windows sends
// them to every process on the console, the child included, so the guard
// passes nothing on; taking them only keeps the guard alive to wait for the
// child and clean up. After SIGTERM Windows ends the guard anyway about five
// seconds later.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM}

const fatalSignals = 2

// closeGrace bounds the grace period after the console closes: the guard
// must be done before Windows ends it.
const closeGrace = 2 * time.Second

// guardOS is what a guard has on Windows only.
type guardOS struct {
	job *job // nil: no job object could be had, or the child could not be put in it
}

// run starts the child in a job object. The child stays in the guard's
// console process group, so Ctrl+C reaches it as it would without the guard;
// the price is that there is no polite way to end it (CTRL_BREAK_EVENT needs
// a group of its own, which Ctrl+C would then miss), so ending the run means
// TerminateProcess once the grace period is over.
func run(cfg Config, path string, rec *record) (Status, error) {
	g := &guard{cfg: cfg, rec: rec}
	j, err := newJob()
	if err != nil {
		cfg.Warn("no job object, descendants are ended by cookie and watchdog only: %v", err)
	}
	// The watchdog starts before the guard joins the job, so it is not in it
	// and outlives the guard. The job allows no breakaway: with it, any
	// process of the run could leave the job too.
	if cfg.NoWatchdog {
		g.reapEarlier()
	} else {
		g.startWatchdog()
	}
	watchdogUp := make(chan struct{})
	close(watchdogUp)
	flags := uint32(0)
	if j != nil {
		// The guard joins the job itself, so everything the child ever
		// starts is in it from its first instruction. Failing that (a job of
		// the caller's that forbids nesting), the child is created suspended
		// and assigned before it runs.
		//
		// Once the guard is in the job, the job's handle is never closed:
		// the last handle's close kills every process in the job, the guard
		// too, and a guard killed before main returns loses the child's exit
		// status. The kernel closes it when the guard's process ends, after
		// the exit status is set.
		if err := j.assign(os.Getpid()); err != nil {
			flags |= windows.CREATE_SUSPENDED
			defer j.close()
		} else {
			g.job = j
		}
	}

	stdout := os.Stdout
	var pr *os.File
	if sniffStdout(cfg) {
		if pr, stdout, err = overlappedPipe(rec.entry.RunID); err != nil {
			return Status{}, errorf(1, "pipe: %v", err)
		}
	}
	if cfg.SignalsUp != nil {
		<-cfg.SignalsUp
	}
	p, err := os.StartProcess(path, cfg.Argv, &os.ProcAttr{
		Env:   childEnv(rec.entry.RunID),
		Files: []*os.File{os.Stdin, stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{CreationFlags: flags},
	})
	if stdout != os.Stdout {
		stdout.Close()
	}
	if err != nil {
		if pr != nil {
			pr.Close()
		}
		return Status{}, startError(cfg.Argv[0], err)
	}
	if flags&windows.CREATE_SUSPENDED != 0 {
		if err := j.assign(p.Pid); err != nil {
			cfg.Warn("cannot put the command in a job object, descendants are ended by cookie and watchdog only: %v", err)
		} else {
			g.job = j
		}
		if err := resume(p.Pid); err != nil {
			_ = p.Kill()
			_, _ = p.Wait()
			if pr != nil {
				pr.Close()
			}
			return Status{}, errorf(1, "start %s: %v", cfg.Argv[0], err)
		}
	}
	// The os.Process holds a handle until Wait, so the pid is the child's.
	g.child, err = killtree.Lookup(p.Pid)
	if err != nil {
		g.child = killtree.Proc{ID: killtree.ID{PID: p.Pid}}
	}
	rec.started(g.child)

	var copied chan struct{}
	if pr != nil {
		copied = make(chan struct{})
		go copyStdout(pr, rec, copied)
	}
	stopWatch := watchRun(rec, g.child, nil, g.exclude)
	st := g.wait(p)
	g.end(stopWatch, watchdogUp, pr, copied)
	return st, nil
}

// wait waits for the child and returns its exit code. Windows has no death
// by signal: a child ended by TerminateProcess or by Ctrl+C exits with a
// code like any other.
func (g *guard) wait(p *os.Process) Status {
	done := make(chan Status, 1)
	go func() {
		ps, err := p.Wait()
		if err != nil {
			done <- Status{Code: 1}
			return
		}
		done <- Status{Code: ps.ExitCode()}
	}()
	var graceUp <-chan time.Time
	for {
		select {
		case st := <-done:
			return st
		case s := <-g.cfg.Signals:
			if s == os.Interrupt {
				continue // the console delivered it to the child too
			}
			if g.ending {
				g.killAll()
			} else {
				g.ending = true
				graceUp = time.After(min(g.cfg.Grace, closeGrace))
			}
		case <-graceUp:
			g.killAll()
		}
	}
}

// release ends what is left in the job once the child is gone, also the
// processes whose parent died (no parent link leads to them). With
// --keep-descendants after a normal end, it lifts kill-on-close instead, so
// they outlive the guard.
func (g *guard) release() {
	if g.job == nil {
		return
	}
	if g.keeping() {
		if err := g.job.setKillOnClose(false); err != nil {
			g.cfg.Warn("cannot keep the descendants: %v", err)
		}
		return
	}
	rep := killtree.End(g.job.members, syscall.SIGKILL, 0)
	if len(rep.Left) > 0 {
		g.cfg.Warn("%d processes of the run survived TerminateProcess: %v", len(rep.Left), rep.Left)
	}
}

// Raise does nothing: Windows has no death by signal, and a child's end is
// its exit code (Status.Signal is always 0 here).
func Raise(sig syscall.Signal) {}

// startDetached starts the watchdog with no console (DETACHED_PROCESS) in a
// process group of its own, so no console event reaches it, stdio on NUL.
// It asks to break away from any job the guard is in (an IDE's, say), so the
// watchdog outlives that job's end too; a job that forbids it is accepted.
func startDetached(path string, argv []string) (int, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	start := func(flags uint32) (*os.Process, error) {
		return os.StartProcess(path, argv, &os.ProcAttr{
			Env:   os.Environ(),
			Files: []*os.File{null, null, null},
			Sys:   &syscall.SysProcAttr{CreationFlags: flags, HideWindow: true},
		})
	}
	flags := uint32(windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP)
	p, err := start(flags | windows.CREATE_BREAKAWAY_FROM_JOB)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		p, err = start(flags)
	}
	if err != nil {
		return 0, err
	}
	defer p.Release()
	return p.Pid, nil
}
