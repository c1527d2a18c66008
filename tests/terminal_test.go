//go:build linux

package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// term is a program running in a pseudo-terminal, its screen read as it
// comes.
type term struct {
	t    *testing.T
	ptmx *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
}

func startTerm(t *testing.T, cmd *exec.Cmd) *term {
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, ptmx: ptmx, cmd: cmd}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ptmx.Close(); cmd.Process.Kill(); cmd.Wait() })
	return tm
}

func (tm *term) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

func (tm *term) send(s string) {
	if _, err := tm.ptmx.WriteString(s); err != nil {
		tm.t.Fatal(err)
	}
}

// waitText waits until the screen shows text.
func (tm *term) waitText(text string) {
	tm.t.Helper()
	var screen string
	if !poll(20*time.Second, func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		screen = tm.out.String()
		return strings.Contains(screen, text)
	}) {
		tm.t.Fatalf("timed out waiting for %q; screen:\n%s", text, screen)
	}
}

func waitPath(t *testing.T, path string) {
	t.Helper()
	waitUntil(t, path+" to appear", func() bool { _, err := os.Stat(path); return err == nil })
}

// shellCmd runs script in a bash with job control, as an interactive shell
// runs a command line, in dir.
func shellCmd(t *testing.T, dir, script string) *exec.Cmd {
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", "set -m\n"+script)
	cmd.Dir = dir
	cmd.Env = append(guardEnv(t), "GUARD="+guardBinary(t), "FAKE="+helperPath(t, "fakeclaude"))
	return cmd
}

func TestTerminalReadAndInterrupt(t *testing.T) {
	dir := t.TempDir()
	tm := startTerm(t, shellCmd(t, dir, `
"$GUARD" "$FAKE" ready=r1 readline; echo "rc1=$?"
"$GUARD" "$FAKE" ready=r2 block; echo "not interrupted"`))
	// the child reads the terminal
	waitPath(t, filepath.Join(dir, "r1"))
	tm.send("hello\r")
	tm.waitText("got: hello")
	tm.waitText("rc1=0")
	// ^C reaches the child from the kernel; the shell sees an interrupted
	// command (128+SIGINT)
	waitPath(t, filepath.Join(dir, "r2"))
	// (a shell whose foreground job is killed by SIGINT abandons the script
	// and exits 130; a job that merely exited 130 would not stop it)
	tm.send("\x03")
	tm.cmd.Wait()
	if code := tm.cmd.ProcessState.ExitCode(); code != 130 || strings.Contains(tm.screen(), "not interrupted") {
		t.Fatalf("the shell did not see an interrupted command: %v; screen:\n%s", tm.cmd.ProcessState, tm.screen())
	}
}

// Without a shell, the guard's own death is seen: killed by SIGINT, like the
// child.
func TestTerminalInterruptStatus(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(guardBinary(t), helperPath(t, "fakeclaude"), "ready=r", "block")
	cmd.Dir, cmd.Env = dir, guardEnv(t)
	tm := startTerm(t, cmd)
	waitPath(t, filepath.Join(dir, "r"))
	tm.send("\x03")
	err := cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("guard ended with %v, want killed by SIGINT", err)
	}
}

func TestTerminalStopAndContinue(t *testing.T) {
	dir := t.TempDir()
	tm := startTerm(t, shellCmd(t, dir, `
"$GUARD" "$FAKE" ready=r readline; echo "stopped=$?"
fg >/dev/null; echo "rc=$?"`))
	waitPath(t, filepath.Join(dir, "r"))
	// ^Z stops the child; the guard follows, so the shell regains control
	// (128+SIGTSTP)
	tm.send("\x1a")
	tm.waitText("stopped=148")
	// fg continues the guard, which gives the terminal back to the child
	tm.send("after\r")
	tm.waitText("got: after")
	tm.waitText("rc=0")
}
