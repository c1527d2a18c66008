//go:build linux

package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/tests/mockapi"
)

// Helpers of the probe: claude -p runs, their output, processes by marker.

var rcUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// rcPrintResult is one finished `claude -p` run.
type rcPrintResult struct {
	pid    int
	err    error
	lines  []string
	stderr []byte
}

func (r *rcPrintResult) initLine(t testing.TB) string {
	t.Helper()
	for _, l := range r.lines {
		if strings.HasPrefix(l, `{"type":"system","subtype":"init"`) {
			return l
		}
	}
	t.Fatalf("no init line in %d lines of output", len(r.lines))
	return ""
}

func (r *rcPrintResult) sessionID(t testing.TB) string {
	t.Helper()
	var m struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(r.initLine(t)), &m); err != nil {
		t.Fatal(err)
	}
	return m.SessionID
}

// rcStartPrint starts claude with args, stdout collected; it is killed at the
// end of the test if still running.
func rcStartPrint(t testing.TB, bin string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &rcLockedBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// rcRunPrint runs claude to completion (env from claudeEnv unless given).
func rcRunPrint(t testing.TB, bin string, srv *mockapi.Server, env []string, args ...string) *rcPrintResult {
	t.Helper()
	if env == nil {
		env = claudeEnv(t, srv.URL())
	}
	cmd, out := rcStartPrint(t, bin, env, args...)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(rcTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("claude %v did not exit within %v", args, rcTimeout)
	}
	return rcParse(t, out.Bytes(), cmd.Process.Pid, err, cmd.Stderr.(*rcLockedBuffer).Bytes())
}

func rcParse(t testing.TB, out []byte, pid int, err error, stderr ...[]byte) *rcPrintResult {
	t.Helper()
	r := &rcPrintResult{pid: pid, err: err}
	if len(stderr) > 0 {
		r.stderr = stderr[0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			if !json.Valid([]byte(l)) {
				t.Errorf("stdout line is not JSON: %.200s", l)
			}
			r.lines = append(r.lines, l)
		}
	}
	if len(r.lines) == 0 && err == nil {
		t.Fatalf("claude printed nothing")
	}
	return r
}

type rcLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *rcLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *rcLockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.b.Bytes()...)
}

// rcTopKeys returns the top-level keys of a JSON object, in order.
func rcTopKeys(t testing.TB, obj string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %.100s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func rcLogRequests(t testing.TB, srv *mockapi.Server) {
	t.Helper()
	for i, r := range srv.Log() {
		t.Logf("request %d: %s %s?%s main=%v turn=%d model=%s", i, r.Method, r.Path, r.Query, r.Main, r.Turn, r.Model)
	}
}

func rcEnvGet(env []string, key string) string {
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func rcSorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// rcFindMarked returns the live (non-zombie) processes whose argv contains marker.
func rcFindMarked(marker string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		if st, err := readStat(pid); err != nil || st.state == "Z" {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// rcKillMarked SIGKILLs the processes carrying marker (ours by construction:
// the marker is unique to this test run).
func rcKillMarked(t testing.TB, marker string) {
	for _, pid := range rcFindMarked(marker) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Logf("kill %d: %v", pid, err)
		}
	}
}

func rcEnviron(t testing.TB, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(data), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
