//go:build linux

package tests

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// guardEnv is a private registry and claude config for one test.
func guardEnv(t *testing.T) []string { return newFixture(t).env }

// helperPath finds a helper program testscript put on PATH.
func helperPath(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// status runs cmd and returns how it ended.
func status(t *testing.T, cmd *exec.Cmd) syscall.WaitStatus {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus)
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ws.ExitStatus())
}

func TestExitStatusMirrorsChild(t *testing.T) {
	guard := guardBinary(t)
	env := guardEnv(t)
	// No core files from the signal deaths below.
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_CORE, &lim)
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: lim.Max})
	defer syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)

	var scripts []string
	for code := 0; code <= 255; code++ {
		scripts = append(scripts, fmt.Sprintf("exit %d", code))
	}
	for _, sig := range []string{"INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "ABRT", "SEGV", "KILL", "PIPE", "ALRM"} {
		scripts = append(scripts, "kill -"+sig+" $$")
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, script := range scripts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			direct := exec.Command("sh", "-c", script)
			guarded := exec.Command(guard, "--no-watchdog", "sh", "-c", script)
			guarded.Env = env
			var stderr bytes.Buffer
			guarded.Stderr = &stderr
			want, got := describe(status(t, direct)), describe(status(t, guarded))
			if want != got {
				t.Errorf("%q: direct %s, guarded %s", script, want, got)
			}
			if stderr.Len() > 0 {
				t.Errorf("%q: guard wrote to stderr: %s", script, stderr.String())
			}
		}()
	}
	wg.Wait()
}

func TestExitStatusOfGuardErrors(t *testing.T) {
	guard := guardBinary(t)
	env := guardEnv(t)
	notExec := filepath.Join(t.TempDir(), "notexec")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"no-such-command-xyz"}, "exit 127"},
		{[]string{"/no/such/path"}, "exit 127"},
		{[]string{notExec}, "exit 126"},
		{[]string{"--bogus", "true"}, "exit 2"},
		{[]string{"run"}, "exit 2"},
		{[]string{"--grace", "soon", "true"}, "exit 2"},
		{[]string{"--grace", "-1s", "true"}, "exit 2"},
		{[]string{"kill", "--grace", "-1s", "--all"}, "exit 2"},
	} {
		cmd := exec.Command(guard, c.args...)
		cmd.Env = env
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if got := describe(status(t, cmd)); got != c.want {
			t.Errorf("%v: %s, want %s", c.args, got, c.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%v: the guard wrote to stdout: %q", c.args, stdout.String())
		}
	}
}

// roundTrip sends data through fakeclaude cat under the guard and returns
// what came out.
func roundTrip(t *testing.T, data []byte, args ...string) []byte {
	guard := guardBinary(t)
	cmd := exec.Command(guard, append([]string{"--no-watchdog", helperPath(t, "fakeclaude"), "cat"}, args...)...)
	cmd.Env = guardEnv(t)
	cmd.Stdin = bytes.NewReader(data)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestStdioRoundTrip(t *testing.T) {
	random := make([]byte, 64<<20)
	rand.Read(random)
	line := append(bytes.Repeat([]byte("x"), 8<<20), '\n')
	for _, c := range []struct {
		name string
		data []byte
		args []string
	}{
		{"plain 64MiB", random, nil},
		{"stream-json 64MiB", random, []string{"--output-format", "stream-json"}},
		{"stream-json= 64MiB", random, []string{"--output-format=stream-json"}},
		{"stream-json 8MiB line", line, []string{"--output-format", "stream-json"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := roundTrip(t, c.data, c.args...)
			if sha256.Sum256(got) != sha256.Sum256(c.data) {
				t.Fatalf("%d bytes in, %d bytes out, contents differ", len(c.data), len(got))
			}
		})
	}
}

// psJSON reads the registry through claude-guard ps --json.
func psJSON(t *testing.T, env []string) []map[string]any {
	cmd := exec.Command(guardBinary(t), "ps", "--json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ps --json: %v", err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("ps --json: %v: %s", err, out)
	}
	return rows
}

// waitSession polls ps --json until the one run shows a session id.
func waitSession(t *testing.T, env []string) string {
	var session string
	waitUntil(t, "a session id in ps --json", func() bool {
		rows := psJSON(t, env)
		if len(rows) == 1 && rows[0]["session_id"] != "" {
			session = rows[0]["session_id"].(string)
		}
		return session != ""
	})
	return session
}

func TestSessionFromInitLine(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			env := guardEnv(t)
			dir := t.TempDir()
			step := "init=sess-whole"
			if split {
				step = "initsplit=sess-split"
			}
			cmd := exec.Command(guardBinary(t), helperPath(t, "fakeclaude"), step, "ready=ready", "waitfile=done", "--output-format", "stream-json")
			cmd.Env, cmd.Dir = env, dir
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if split {
				// The first half must have gone through the guard before
				// the second is written.
				buf := make([]byte, 40)
				if _, err := io.ReadFull(out, buf); err != nil {
					t.Fatal(err)
				}
				got.Write(buf)
				os.WriteFile(filepath.Join(dir, "init.go"), nil, 0o644)
			}
			readDone := make(chan struct{})
			go func() { io.Copy(&got, out); close(readDone) }()
			want := strings.TrimPrefix(step[strings.IndexByte(step, '=')+1:], "")
			if s := waitSession(t, env); s != want {
				t.Errorf("session %q, want %q", s, want)
			}
			if m := psJSON(t, env)[0]["model"]; m != "fake-model" {
				t.Errorf("model %v, want fake-model", m)
			}
			os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
			<-readDone
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got.String(), `"session_id":"`+want+`"`) {
				t.Errorf("output changed: %q", got.String())
			}
		})
	}
}

func TestSessionFromArgsAndSessionsFile(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"--session-id", []string{"--session-id", "11111111-2222-3333-4444-555555555555"}, "11111111-2222-3333-4444-555555555555"},
		{"--session-id=", []string{"--session-id=abc-1"}, "abc-1"},
		{"--resume", []string{"--resume", "res-1"}, "res-1"},
		{"-r", []string{"-r", "res-2"}, "res-2"},
		{"sessions file", []string{"sessions=from-file"}, "from-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := guardEnv(t)
			dir := t.TempDir()
			args := append([]string{helperPath(t, "fakeclaude")}, c.args...)
			cmd := exec.Command(guardBinary(t), append(args, "ready=ready", "waitfile=done")...)
			cmd.Env, cmd.Dir = env, dir
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if s := waitSession(t, env); s != c.want {
				t.Errorf("session %q, want %q", s, c.want)
			}
			os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A sessions file whose procStart is not the child's is some other
// process's: its session id is never taken.
func TestSessionsFileWithWrongProcStart(t *testing.T) {
	env := guardEnv(t)
	dir := t.TempDir()
	cmd := exec.Command(guardBinary(t), helperPath(t, "fakeclaude"), "badsessions=wrong", "setsid=s1", "waitfile=go", "sessions=right", "waitfile=done")
	cmd.Env, cmd.Dir = env, dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
	// The guard reads the sessions file before it records the tree; once
	// s1 (started after the wrong file was written) is on record, the wrong
	// file has been seen.
	waitRecorded(t, env, filepath.Join(dir, "s1"))
	if rows := psJSON(t, env); len(rows) != 1 || rows[0]["session_id"] != "" {
		t.Fatalf("a sessions file with the wrong procStart was taken: %v", rows)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	if s := waitSession(t, env); s != "right" {
		t.Errorf("session %q, want right", s)
	}
}

func waitRecorded(t *testing.T, env []string, pidFile string) {
	waitUntil(t, pidFile+" in a registry entry's recorded tree", func() bool {
		b, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		home := ""
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "CLAUDE_GUARD_HOME="); ok {
				home = v
			}
		}
		m, _ := filepath.Glob(filepath.Join(home, "*.json"))
		for _, f := range m {
			b, _ := os.ReadFile(f)
			var e struct{ Tree []struct{ PID int } }
			json.Unmarshal(b, &e)
			for _, p := range e.Tree {
				if pid != 0 && p.PID == pid {
					return true
				}
			}
		}
		return false
	})
}

// When the reader of the guard's stdout goes away, the child meets a broken
// pipe as it would without the guard, and the guard ends as the child did.
func TestBrokenPipe(t *testing.T) {
	for _, args := range [][]string{nil, {"--output-format", "stream-json"}} {
		run := func(guarded bool) string {
			argv := append([]string{helperPath(t, "fakeclaude"), "flood"}, args...)
			if guarded {
				argv = append([]string{guardBinary(t), "--no-watchdog"}, argv...)
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = guardEnv(t)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(out, make([]byte, 4096)); err != nil {
				t.Fatal(err)
			}
			out.Close()
			cmd.Wait()
			return describe(cmd.ProcessState.Sys().(syscall.WaitStatus))
		}
		if direct, guarded := run(false), run(true); direct != guarded || direct != "signal broken pipe" {
			t.Errorf("%v: direct %s, guarded %s", args, direct, guarded)
		}
	}
}
