//go:build linux

package tests

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// rcProbeTUI: The interactive TUI, offline, in a pseudo-terminal.
func rcProbeTUI(t *testing.T, bin string) {
	srv := mockapi.Start(t, mockapi.Bash("echo rc-tui-ran"), mockapi.Text("rc all done"))
	env := claudeEnv(t, srv.URL())
	cmd := exec.Command(bin, "--allowedTools", "Bash")
	cmd.Env = env
	cmd.Dir = t.TempDir()
	term := rcStartPTY(t, cmd)
	// 1. Trust dialog; the cursor starts on "No, exit". Down moves it to
	// "Yes, I trust this folder", Enter accepts. The dialog is re-mounted
	// once ~0.1-0.4 s after it first shows, silently (same pixels) unless
	// a key was pressed: then the cursor jumps back to "No, exit" and an
	// Enter sent meanwhile is lost. So: retry until accepted.
	term.WaitText("Enter to confirm · Esc to cancel", rcTimeout)
	for try := 1; ; try++ {
		term.Send("\x1b[B") // Down
		term.WaitText("❯ Yes, I trust this folder", rcTimeout)
		term.Send("\r") // Enter
		if term.WaitAny(rcTimeout, "Claude Code v"+rcClaudeVersion, "❯ No, exit") == 0 {
			t.Logf("trust dialog accepted on try %d", try)
			break
		}
		if try == 5 {
			t.Fatalf("trust dialog: Down, Enter did not accept it after %d tries", try)
		}
	}
	// 2. Main screen; the input box's footer means it takes input.
	term.WaitText("shift+tab to cycle", rcTimeout)
	term.Send("rc run it")
	term.WaitText("rc run it", rcTimeout)
	term.Send("\r")
	// 3. The scripted Bash call runs and its result goes back.
	srv.WaitRequests(2, rcTimeout)
	if body := string(srv.Log()[len(srv.Log())-1].Body); !strings.Contains(body, "rc-tui-ran") {
		t.Errorf("second request lacks the Bash output rc-tui-ran")
	}
	term.WaitText("rc all done", rcTimeout)
	// 4. ^C once arms, ^C again (within ~1 s) exits.
	term.Send("\x03")
	term.WaitText("Press Ctrl-C again to exit", rcTimeout)
	term.Send("\x03")
	err := term.Wait(rcTimeout)
	t.Logf("TUI exit after ^C ^C: %v", err)
	if err != nil {
		t.Errorf("TUI exit status after ^C ^C: %v, want 0", err)
	}
	rcLogRequests(t, srv)
}

// rcProbeTUIPretrusted: With the folder pre-trusted (claudeTrustDir) the TUI skips the dialog.
func rcProbeTUIPretrusted(t *testing.T, bin string) {
	srv := mockapi.Start(t, mockapi.Text("rc pretrusted reply"))
	env := claudeEnv(t, srv.URL())
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	claudeTrustDir(t, env, cmd.Dir)
	term := rcStartPTY(t, cmd)
	if term.WaitAny(rcTimeout, "shift+tab to cycle", "Yes, I trust this folder") != 0 {
		t.Fatal("trust dialog shown for a pre-trusted folder")
	}
	term.Send("rc hello")
	term.WaitText("rc hello", rcTimeout)
	term.Send("\r")
	term.WaitText("rc pretrusted reply", rcTimeout)
	term.Send("\x03")
	term.WaitText("Press Ctrl-C again to exit", rcTimeout)
	term.Send("\x03")
	if err := term.Wait(rcTimeout); err != nil {
		t.Errorf("TUI exit status after ^C ^C: %v, want 0", err)
	}
}

// rcProbeTUIHangup: Closing the terminal (the pty master) hangs claude up: the kernel sends
// SIGHUP to it (it leads the terminal's session) and it exits.
func rcProbeTUIHangup(t *testing.T, bin string) {
	srv := mockapi.Start(t)
	env := claudeEnv(t, srv.URL())
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	claudeTrustDir(t, env, cmd.Dir)
	term := rcStartPTY(t, cmd)
	term.WaitText("shift+tab to cycle", rcTimeout)
	start := time.Now()
	term.f.Close()
	err := term.Wait(rcTimeout)
	t.Logf("after the terminal closed, claude exited in %v: %v", time.Since(start), err)
	// 2.1.328 catches the SIGHUP and exits 0.
	if err != nil {
		t.Errorf("claude after hangup: %v, want exit 0", err)
	}
}

// rcTerm drives a program in a pseudo-terminal.
type rcTerm struct {
	t       testing.TB
	cmd     *exec.Cmd
	f       *os.File
	mu      sync.Mutex
	out     []byte
	mark    int           // WaitText looks at output after this offset (the last Send)
	changed chan struct{} // closed and replaced on new output
	eof     bool
	exited  chan struct{}
	err     error
}

func rcStartPTY(t testing.TB, cmd *exec.Cmd) *rcTerm {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	p := &rcTerm{t: t, cmd: cmd, f: f, changed: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			if err != nil {
				p.eof = true
			}
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		f.Close()
		if t.Failed() {
			t.Logf("terminal output (ANSI stripped):\n%s", rcScreenText(p.all()))
		}
	})
	return p
}

func (p *rcTerm) all() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.out...)
}

// Send writes s to the terminal; later WaitText calls look only at output
// written after it.
func (p *rcTerm) Send(s string) {
	p.t.Helper()
	p.mu.Lock()
	p.mark = len(p.out)
	p.mu.Unlock()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatalf("write to pty: %v", err)
	}
}

// WaitText waits until text appears in the output (ANSI sequences replaced
// by blanks, blank runs collapsed) written since the last Send.
func (p *rcTerm) WaitText(text string, timeout time.Duration) {
	p.t.Helper()
	p.WaitAny(timeout, text)
}

// WaitAny is WaitText for several texts; it returns the index of the first
// text found.
func (p *rcTerm) WaitAny(timeout time.Duration, texts ...string) int {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		chunk := p.out[p.mark:]
		eof := p.eof
		ch := p.changed
		screen := rcScreenText(chunk)
		for i, text := range texts {
			if strings.Contains(screen, text) {
				p.mu.Unlock()
				return i
			}
		}
		p.mu.Unlock()
		if eof {
			p.t.Fatalf("terminal closed while waiting for %q; recent output:\n%s", texts, screen)
		}
		select {
		case <-ch:
		case <-timer.C:
			p.t.Fatalf("timed out after %v waiting for %q; output since the last input:\n%s", timeout, texts, screen)
		}
	}
}

// Wait waits for the program to exit.
func (p *rcTerm) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("program still running after %v", timeout)
		return nil
	}
}

var rcANSI = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMc]|[\x00-\x08\x0b-\x1f]`)
var rcBlanks = regexp.MustCompile(`[ \t\r\n]+`)

// rcScreenText turns terminal output into searchable text: escape sequences
// become blanks, runs of blanks become one space.
func rcScreenText(b []byte) string {
	return rcBlanks.ReplaceAllString(rcANSI.ReplaceAllString(string(b), " "), " ")
}
