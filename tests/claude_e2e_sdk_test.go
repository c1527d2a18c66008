//go:build linux

package tests

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// 7. The Agent SDK's way in: a shim named claude, stream-json both ways over
// pipes; compared with the real claude run the same way.
func ceSDKShim(t *testing.T, guard, claude string) {
	shimDir := t.TempDir()
	shim := filepath.Join(shimDir, "claude")
	if err := os.Symlink(guard, shim); err != nil {
		t.Fatal(err)
	}
	args := []string{"--output-format", "stream-json", "--verbose", "--input-format", "stream-json"}

	type result struct {
		lines  []string
		status string
		code   int
		sid    string
		row    ceRow
		norm   []string // lines with ids, paths and timings normalised
	}
	run := func(t *testing.T, viaShim bool) result {
		s := ceNewScenario(t, guard)
		s.mock(mockapi.Text("sdk answer"))
		bin := claude
		env := s.env
		if viaShim {
			bin = shim
			env = append(env, "CLAUDE_GUARD_CLAUDE="+claude)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Dir = t.TempDir()
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		stderr := &rcLockedBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
			}
		})
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// What the Agent SDKs write for a user turn.
		msg := `{"type":"user","message":{"role":"user","content":"hi"},"parent_tool_use_id":null,"session_id":"default"}` + "\n"
		if _, err := io.WriteString(stdin, msg); err != nil {
			t.Fatal(err)
		}
		var r result
		timer := time.NewTimer(ceTimeout)
		defer timer.Stop()
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stdout closed before a result line; stderr %q", stderr.Bytes())
				}
				r.lines = append(r.lines, l)
				if ceJSONField(l, "type") == "system" && ceJSONField(l, "subtype") == "init" {
					r.sid = ceJSONField(l, "session_id")
				}
				if ceJSONField(l, "type") == "result" {
					break read
				}
			case <-timer.C:
				t.Fatalf("no result line within %v; got %d lines; stderr %q", ceTimeout, len(r.lines), stderr.Bytes())
			}
		}
		if viaShim {
			r.row = s.waitRun(func(r ceRow) bool { return r.SessionID != "" })
		}
		stdin.Close() // claude exits after its result only at stdin EOF
		for l := range lines {
			r.lines = append(r.lines, l)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(ceTimeout):
			t.Fatalf("did not exit within %v of stdin EOF", ceTimeout)
		}
		for _, l := range r.lines {
			r.norm = append(r.norm, ceTimings.ReplaceAllString(ceNormInit(l, cmd.Dir, s.home), `"$1":<n>`))
		}
		r.status = ceStatus(cmd, err)
		r.code = cmd.ProcessState.ExitCode()
		if viaShim {
			if left := s.left(); len(left) > 0 {
				t.Errorf("processes of the run left right after the shim exited: %v", left)
			}
			if len(stderr.Bytes()) > 0 {
				t.Logf("shim stderr: %q", stderr.Bytes())
			}
			s.checkWatchdogGone()
		}
		return r
	}
	var direct, shimmed result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.Run("direct", func(t *testing.T) { direct = run(t, false) })
	}()
	t.Run("shim", func(t *testing.T) { shimmed = run(t, true) })
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("direct: %s, %d lines %v; shim: %s, %d lines %v; ps session_id %q, init %q",
		direct.status, len(direct.lines), ceShapes(direct.lines), shimmed.status, len(shimmed.lines), ceShapes(shimmed.lines), shimmed.row.SessionID, shimmed.sid)
	if direct.code != shimmed.code || direct.status != shimmed.status {
		t.Errorf("exit status via the shim %s, directly %s", shimmed.status, direct.status)
	}
	if a, b := ceShapes(shimmed.lines), ceShapes(direct.lines); !equalStrings(a, b) {
		t.Errorf("output line types via the shim %v, directly %v", a, b)
	}
	for i := range min(len(direct.norm), len(shimmed.norm)) {
		if direct.norm[i] != shimmed.norm[i] {
			a, b := shimmed.norm[i], direct.norm[i]
			at := 0
			for at < len(a) && at < len(b) && a[at] == b[at] {
				at++
			}
			from := max(0, at-80)
			t.Errorf("output line %d differs beyond ids, paths and timings, at byte %d:\n shim:   …%s\n direct: …%s",
				i, at, a[from:min(len(a), at+120)], b[from:min(len(b), at+120)])
		}
	}
	if shimmed.row.SessionID != shimmed.sid || shimmed.sid == "" {
		t.Errorf("ps session_id %q, want the init line's %q", shimmed.row.SessionID, shimmed.sid)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ceShapes describes each output line by its type, subtype and top-level keys.
func ceShapes(lines []string) []string {
	var out []string
	for _, l := range lines {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) != nil {
			out = append(out, "not-json")
			continue
		}
		shape := ceJSONField(l, "type")
		if st := ceJSONField(l, "subtype"); st != "" {
			shape += "/" + st
		}
		out = append(out, shape)
	}
	return out
}
