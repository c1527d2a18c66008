//go:build linux

// Package tests holds the end-to-end tests: testscript scripts in this
// directory run the built claude-guard against helper programs, and Go tests
// drive what scripts cannot (pseudo-terminals, loops, the real claude).
package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	// A registry's watcher exits this long after its last run: fixtures
	// end theirs at cleanup, scripts and scenarios leave them to this.
	os.Setenv("CLAUDE_GUARD_WATCHER_IDLE", "1s")
	testscript.Main(removeBinDir{m}, map[string]func(){
		"fakeclaude": func() { os.Exit(fakeClaude()) },
		"sleeper":    func() { os.Exit(sleeper()) },
		"daemonize":  func() { os.Exit(daemonize()) },
	})
}

// removeBinDir runs the tests, then removes the binary they built.
type removeBinDir struct{ m *testing.M }

func (r removeBinDir) Run() int {
	code := r.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

var (
	buildOnce sync.Once
	guardBin  string
	binDir    string // made by guardBinary, removed after the tests
	buildErr  error
)

// guardBinary builds claude-guard once per test process
// ($CLAUDE_GUARD_TEST_BIN names a binary built elsewhere instead).
func guardBinary(t testing.TB) string {
	buildOnce.Do(func() {
		if p := os.Getenv("CLAUDE_GUARD_TEST_BIN"); p != "" {
			guardBin = p
			return
		}
		dir, err := os.MkdirTemp("", "claude-guard-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		guardBin = filepath.Join(dir, "claude-guard")
		out, err := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", guardBin, "github.com/claude-guard/claude-guard").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build claude-guard: %v", buildErr)
	}
	return guardBin
}

func TestScripts(t *testing.T) {
	bin := guardBinary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 ".",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("CLAUDE_GUARD_HOME", filepath.Join(env.WorkDir, "registry"))
			env.Defer(func() { stopWatchers(filepath.Join(env.WorkDir, "registry")) })
			env.Setenv("CLAUDE_CONFIG_DIR", filepath.Join(env.WorkDir, "claudecfg"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("GUARD", bin)
			env.Setenv("CI", os.Getenv("CI"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitFile,
			"waitline": cmdWaitLine,
			"gone":     cmdGone,
			"alive":    cmdAlive,
			"signal":   cmdSignal,
			"entries":  cmdEntries,
			"guardsig": cmdGuardSig,
			"recorded": cmdRecorded,
		},
		Condition: func(cond string) (bool, error) {
			return cond == runtime.GOOS, nil
		},
	})
}

// waitfor polls cond until it holds or the limit passes: the processes under
// test write files, and a file cannot be waited for otherwise.
func waitfor(ts *testscript.TestScript, what string, cond func() bool) {
	if !poll(pollLimit, cond) {
		ts.Fatalf("test timeout: waited %v for %s", pollLimit, what)
	}
}

// waitfile FILE...: wait until each file exists.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args {
		waitfor(ts, a, func() bool { _, err := os.Stat(ts.MkAbs(a)); return err == nil })
	}
}

// waitline FILE TEXT: wait until FILE has a line equal to TEXT.
func cmdWaitLine(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitline FILE TEXT")
	}
	waitfor(ts, args[1]+" in "+args[0], func() bool {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		for _, l := range strings.Split(string(b), "\n") {
			if l == args[1] {
				return true
			}
		}
		return false
	})
}

func readPid(ts *testscript.TestScript, file string) int {
	b, err := os.ReadFile(ts.MkAbs(file))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	ts.Check(err)
	return pid
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != "Z" && st.state != "X"
}

// gone PIDFILE...: wait until the process each file names is gone. With !,
// check that each is still alive now.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args {
		pid := readPid(ts, a)
		if neg {
			if !alive(pid) {
				ts.Fatalf("process %d (%s) is gone", pid, a)
			}
			continue
		}
		waitfor(ts, "process "+a+" to end", func() bool { return !alive(pid) })
	}
}

// alive PIDFILE...: each process is alive now.
func cmdAlive(ts *testscript.TestScript, neg bool, args []string) {
	cmdGone(ts, !neg, args)
}

// signal SIG PIDFILE...: send SIG to the processes the files name (started by
// this script only).
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	sig := sigByName(args[0])
	for _, a := range args[1:] {
		ts.Check(syscall.Kill(readPid(ts, a), sig))
	}
}

// entries N: the registry comes to hold N entries (json files). A run's
// watchdog removes its entry just after the guard exits.
func cmdEntries(ts *testscript.TestScript, neg bool, args []string) {
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	var m []string
	waitfor(ts, fmt.Sprintf("%d registry entries", want), func() bool {
		m, _ = filepath.Glob(filepath.Join(ts.Getenv("CLAUDE_GUARD_HOME"), "*.json"))
		return len(m) == want
	})
}

// guardsig SIG [LABEL]: send SIG to the guard of the one running run (with
// LABEL), found in this script's own registry and checked by start ticks.
func cmdGuardSig(ts *testscript.TestScript, neg bool, args []string) {
	sig := sigByName(args[0])
	m, _ := filepath.Glob(filepath.Join(ts.Getenv("CLAUDE_GUARD_HOME"), "*.json"))
	var found []map[string]any
	for _, f := range m {
		b, err := os.ReadFile(f)
		ts.Check(err)
		var e map[string]any
		ts.Check(json.Unmarshal(b, &e))
		if len(args) < 2 || e["label"] == args[1] {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		ts.Fatalf("want one run in the registry, found %d", len(found))
	}
	pid := int(found[0]["guard_pid"].(float64))
	st, err := readStat(pid)
	ts.Check(err)
	if st.start != uint64(found[0]["guard_start"].(float64)) {
		ts.Fatalf("guard %d is not the recorded process", pid)
	}
	ts.Check(syscall.Kill(pid, sig))
}

// recorded PIDFILE...: wait until the registry's recorded tree holds each
// process, as it must before a guard's death can be survived by it.
func cmdRecorded(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args {
		pid := readPid(ts, a)
		waitfor(ts, a+" in the recorded tree", func() bool {
			m, _ := filepath.Glob(filepath.Join(ts.Getenv("CLAUDE_GUARD_HOME"), "*.json"))
			for _, f := range m {
				b, _ := os.ReadFile(f)
				var e struct{ Tree []struct{ PID int } }
				if json.Unmarshal(b, &e) == nil {
					for _, p := range e.Tree {
						if p.PID == pid {
							return true
						}
					}
				}
			}
			return false
		})
	}
}
