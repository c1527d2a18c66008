//go:build linux

package tests

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// exampleCall matches a claude-guard call in an example, up to where the
// shell takes over: a pipe, a redirection, a closing quote or paren, a
// comment.
var exampleCall = regexp.MustCompile(`(?:^|[\s'"(])claude-guard ([^|&;>)"'#]*)`)

// helpExamples returns every claude-guard call in the examples of the
// app's --help and of each subcommand's.
func helpExamples(t *testing.T, f *fixture) [][]string {
	out, _, code := f.run("--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	texts := []string{out}
	inCommands := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "COMMANDS:"):
			inCommands = true
		case inCommands && strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, "    "):
			name := strings.TrimSuffix(strings.Fields(l)[0], ",")
			help, stderr, code := f.run(name, "--help")
			if code != 0 {
				t.Fatalf("%s --help: exit %d: %s", name, code, stderr)
			}
			texts = append(texts, help)
		case inCommands && strings.TrimSpace(l) == "":
			inCommands = false
		}
	}
	var calls [][]string
	for _, text := range texts {
		inExamples := false
		for _, l := range strings.Split(text, "\n") {
			trimmed := strings.TrimSpace(l)
			if strings.HasPrefix(trimmed, "Examples:") {
				inExamples = true
				continue
			}
			if !inExamples && !strings.HasPrefix(trimmed, "Example:") {
				continue
			}
			if trimmed == "" || strings.HasSuffix(trimmed, ":") {
				inExamples = false
				continue
			}
			for _, m := range exampleCall.FindAllStringSubmatch(l, -1) {
				calls = append(calls, strings.Fields(m[1]))
			}
		}
	}
	return calls
}

// TestHelpExamplesRun runs every example the help shows, in a home of its
// own with a claude that exits at once: each must be a command line the
// guard accepts and carries out.
func TestHelpExamplesRun(t *testing.T) {
	f := newFixture(t)
	home := t.TempDir()
	fake := filepath.Join(home, "fake-claude")
	os.WriteFile(fake, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	f.env = append(f.env, "HOME="+home, "CLAUDE_GUARD_CLAUDE="+fake)

	calls := helpExamples(t, f)
	if len(calls) < 12 {
		t.Fatalf("found only %d examples in the help: %q", len(calls), calls)
	}
	for _, args := range calls {
		for i, a := range args {
			if a == "~" || strings.HasPrefix(a, "~/") {
				args[i] = home + a[1:]
			}
		}
		// a run for `kill nvim` to end
		var g *exec.Cmd
		if len(args) > 0 && args[0] == "kill" {
			ready := filepath.Join(home, "ready")
			os.Remove(ready)
			g = f.guard("--label", "nvim", helperPath(t, "fakeclaude"), "ready="+ready, "block")
			waitUntil(t, "the run labelled nvim to start", func() bool { _, err := os.Stat(ready); return err == nil })
		}
		if len(args) > 0 && args[0] == "log" && (contains(args, "--follow") || contains(args, "-f")) {
			followLog(t, f, args)
			continue
		}
		out, stderr, code := f.run(args...)
		want := 0
		if len(args) > 0 && args[0] == "doctor" {
			want = code // exit 1 names problems (leaks of other work here), it still ran
		}
		if code != want || code == 2 {
			t.Errorf("example `claude-guard %s`: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
		}
		if g != nil {
			g.Process.Signal(syscall.SIGTERM) // ended already, unless the example failed
			g.Wait()
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// followLog runs a log --follow example until it has shown an event, then
// interrupts it as a user would: it must end with status 0.
func followLog(t *testing.T, f *fixture, args []string) {
	cmd := exec.Command(guardBinary(t), args...)
	cmd.Env, cmd.Dir = f.env, f.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var shown atomic.Bool
	go func() { shown.Store(bufio.NewScanner(out).Scan()) }()
	if !poll(pollLimit, shown.Load) {
		t.Errorf("example `claude-guard %s`: no event shown in %v; stderr: %s", strings.Join(args, " "), pollLimit, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("example `claude-guard %s`: %v after an interrupt; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
}
