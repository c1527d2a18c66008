//go:build linux

package tests

// Helpers to run the real, pinned claude CLI fully offline against
// tests/mockapi. See TestRealClaudeProbe for the facts they rely on.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rcClaudeVersion is the claude release the end-to-end tests are pinned to.
const rcClaudeVersion = "2.1.328"

// realClaude returns the path of the pinned real claude binary:
// $CLAUDE_GUARD_E2E_CLAUDE if set, else an npm install cached in
// $XDG_CACHE_HOME/claude-guard-e2e (default ~/.cache/claude-guard-e2e),
// installed on first use. It skips the test when that is impossible (no npm,
// offline), except under CI=true where it fails instead.
func realClaude(t testing.TB) string {
	t.Helper()
	rcClaudeMu.Lock()
	defer rcClaudeMu.Unlock()
	if rcClaudePath == "" {
		rcClaudePath = rcFindClaude(t)
	}
	return rcClaudePath
}

var (
	rcClaudeMu   sync.Mutex
	rcClaudePath string // found once per test process
)

func rcFindClaude(t testing.TB) string {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("real claude unavailable (CI=true, so this is fatal): "+format, args...)
		}
		t.Skipf("real claude unavailable, skipping (set CLAUDE_GUARD_E2E_CLAUDE to a claude %s binary): "+format,
			append([]any{rcClaudeVersion}, args...)...)
	}
	if p := os.Getenv("CLAUDE_GUARD_E2E_CLAUDE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			fail("CLAUDE_GUARD_E2E_CLAUDE: %v", err)
		}
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			fail("no cache directory: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "claude-guard-e2e")
	if bin := rcInstalledClaude(dir); bin != "" {
		return bin
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		fail("npm not found in PATH, cannot install @anthropic-ai/claude-code@%s", rcClaudeVersion)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail("%v", err)
	}
	// One installer at a time, across test processes (go test runs packages
	// in parallel) and within one (flock is per open file description).
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fail("%v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fail("lock %s: %v", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if bin := rcInstalledClaude(dir); bin != "" { // installed by someone else while we waited
		return bin
	}
	t.Logf("installing @anthropic-ai/claude-code@%s into %s (one time)", rcClaudeVersion, dir)
	start := time.Now()
	cmd := exec.Command(npm, "install", "--prefix", dir, "--no-audit", "--no-fund",
		"@anthropic-ai/claude-code@"+rcClaudeVersion)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		fail("npm install failed: %v\n%s", err, out)
	}
	bin := rcInstalledClaude(dir)
	if bin == "" {
		fail("npm install succeeded but %s holds no working claude %s:\n%s", dir, rcClaudeVersion, out)
	}
	t.Logf("installed claude %s in %v", rcClaudeVersion, time.Since(start).Round(time.Second))
	return bin
}

// rcInstalledClaude returns the claude binary of an npm install in dir, or "".
// node_modules/.bin/claude links to the package's bin/claude.exe, which the
// package's postinstall script replaces with the native binary of the
// platform package; should npm not run that script, the native binary is
// taken from the platform package directly.
func rcInstalledClaude(dir string) string {
	nm := filepath.Join(dir, "node_modules")
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	candidates := []string{filepath.Join(nm, ".bin", "claude")}
	for _, suffix := range []string{"", "-musl"} {
		candidates = append(candidates, filepath.Join(nm, "@anthropic-ai", "claude-code-"+runtime.GOOS+"-"+arch+suffix, "claude"))
	}
	for _, bin := range candidates {
		if rcClaudeOK(bin) {
			return bin
		}
	}
	return ""
}

// rcClaudeOK reports whether bin exists and is the pinned version (`-v`
// answers in ~10 ms).
func rcClaudeOK(bin string) bool {
	if _, err := os.Stat(bin); err != nil {
		return false
	}
	cmd := exec.Command(bin, "-v")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "DISABLE_AUTOUPDATER=1"}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return false
	}
	return err == nil && strings.HasPrefix(string(out), rcClaudeVersion+" ")
}

// claudeEnv returns a minimal environment for running the real claude offline
// against the mock at apiURL: a fresh HOME (with .claude.json marking
// onboarding done), a fresh CLAUDE_CONFIG_DIR (= $HOME/.claude), a fake API key,
// and every switch that stops auto-updates, telemetry and other traffic.
// TERM is set so the same env works in a pseudo-terminal.
func claudeEnv(t testing.TB, apiURL string) []string {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, ".claude")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(map[string]any{
		// Without it the TUI runs onboarding (theme picker, login) and, offline, exits 1.
		"hasCompletedOnboarding": true,
		"lastOnboardingVersion":  rcClaudeVersion,
		"autoUpdates":            false,
		// Without it the TUI asks "Detected a custom API key in your
		// environment ... Do you want to use this API key?" (default No).
		// Keys are listed by their last 20 characters.
		"customApiKeyResponses": map[string]any{"approved": []string{"test"}, "rejected": []string{}},
	})
	// With CLAUDE_CONFIG_DIR set, claude reads $CLAUDE_CONFIG_DIR/.claude.json;
	// without it, $HOME/.claude.json. Write both.
	for _, p := range []string{filepath.Join(home, ".claude.json"), filepath.Join(cfg, ".claude.json")} {
		if err := os.WriteFile(p, state, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{
		"PATH=" + path,
		"HOME=" + home,
		"USER=" + rcEnvOr("USER", "root"),
		"TERM=xterm-256color",
		"LANG=C.UTF-8",
		"TMPDIR=" + home,
		"CLAUDE_CONFIG_DIR=" + cfg,
		"CLAUDE_GUARD_WATCHER_IDLE=1s", // see TestMain
		"ANTHROPIC_API_KEY=test",
		"ANTHROPIC_BASE_URL=" + apiURL,
		// Verified with strace in an empty network namespace (2.1.328):
		// without it claude sends HEAD /api/hello and resolves outside hosts
		// (telemetry, error reporting); with it, -p connects only to the mock.
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		// Verified likewise: without it the TUI clones the official plugin
		// marketplace from github.com (git over https, then ssh) even with
		// the variable above.
		"CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1",
		// No observable effect offline once the two above are set; kept as
		// belts (the last three matter only if the two above are dropped).
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_BUG_COMMAND=1",
		"CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1",
	}
}

// claudeTrustDir marks dir as trusted in the config of env (from claudeEnv),
// so the interactive TUI started in dir skips its "Yes, I trust this folder"
// dialog and goes straight to the input box.
func claudeTrustDir(t testing.TB, env []string, dir string) {
	t.Helper()
	var cfg string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "CLAUDE_CONFIG_DIR="); ok {
			cfg = filepath.Join(v, ".claude.json")
		}
	}
	if cfg == "" {
		t.Fatal("claudeTrustDir: env has no CLAUDE_CONFIG_DIR")
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var state map[string]any
	data, err := os.ReadFile(cfg)
	if err == nil {
		err = json.Unmarshal(data, &state)
	}
	if err != nil {
		t.Fatalf("claudeTrustDir: %v", err)
	}
	projects, _ := state["projects"].(map[string]any)
	if projects == nil {
		projects = map[string]any{}
	}
	projects[dir] = map[string]any{"hasTrustDialogAccepted": true}
	state["projects"] = projects
	data, _ = json.Marshal(state)
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func rcEnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// rcWaitFor polls cond every 10 ms until it is true or timeout passes; it
// reports whether cond became true. A fallback for conditions nothing signals
// (a file appearing, a process dying); prefer waiting on output or requests.
func rcWaitFor(t testing.TB, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	return poll(timeout, cond)
}
