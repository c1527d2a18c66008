//go:build linux

package tests

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestWindows runs the Windows tests (tests/windows, built for windows/amd64)
// under Wine 8, in a Wine prefix of its own: Windows is tested on every run
// of the suite where Wine is installed. Without Wine (or mingw-w64, for the
// one DLL Wine lacks) it is skipped, loudly, and under CI it fails.
func TestWindows(t *testing.T) {
	var missing []string
	for _, tool := range []string{"wine", "wineboot", "wineserver", "x86_64-w64-mingw32-gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if runtime.GOARCH != "amd64" {
		missing = append(missing, "an amd64 host for wine64")
	}
	if len(missing) > 0 {
		msg := "WINDOWS TESTS NOT RUN: no " + strings.Join(missing, ", ") +
			" (apt-get install wine64 gcc-mingw-w64-x86-64-win32)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all",
		// No Mono or Gecko install offered: the prefix is made faster.
		"WINEDLLOVERRIDES=mscoree,mshtml=")
	t.Cleanup(func() {
		// Ends this prefix's wineserver and every process it runs; no other.
		for _, arg := range []string{"-k", "-w"} { // kill, then wait for the server's end
			k := exec.Command("wineserver", arg)
			k.Env = env
			_ = k.Run()
		}
		// What a crashed wineserver left: the processes of this prefix only,
		// told by their environment.
		for _, pid := range procsWithEnv("WINEPREFIX=" + prefix) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	// The prefix (wineboot takes seconds) is made while the binaries build.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([][]byte, 4)
	run := func(i int, cmd *exec.Cmd) {
		defer wg.Done()
		outs[i], errs[i] = cmd.CombinedOutput()
	}
	goEnv := append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	cmds := []*exec.Cmd{
		exec.Command("wineboot", "-i"),
		exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", filepath.Join(dir, "claude-guard.exe"), "github.com/claude-guard/claude-guard"),
		exec.Command("go", "test", "-c", "-o", filepath.Join(dir, "wintest.exe"), "./windows"),
		exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", filepath.Join(dir, "bcryptprimitives.dll"),
			filepath.Join("windows", "testdata", "bcryptprimitives.c"), "-ladvapi32"),
	}
	cmds[0].Env = env
	cmds[1].Env, cmds[2].Env = goEnv, goEnv
	start := time.Now()
	for i, c := range cmds {
		wg.Add(1)
		go run(i, c)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmds[i].Args, " "), err, outs[i])
		}
	}
	dll, err := os.ReadFile(filepath.Join(dir, "bcryptprimitives.dll"))
	if err == nil {
		err = os.WriteFile(filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), dll, 0o644)
	}
	if err != nil {
		t.Fatalf("stub bcryptprimitives.dll: %v", err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("prefix and builds ready in %v", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := []string{filepath.Join(dir, "wintest.exe"), "-test.v", "-test.timeout", "3m"}
	if r := os.Getenv("CLAUDE_GUARD_WINTEST_RUN"); r != "" {
		args = append(args, "-test.run", r)
	}
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = append(env, "CLAUDE_GUARD_EXE="+winPath(filepath.Join(dir, "claude-guard.exe")), "CG_WORK="+winPath(work))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var failed []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		t.Log(l)
		if f := strings.TrimSpace(l); strings.HasPrefix(f, "--- FAIL") || strings.HasPrefix(f, "--- SKIP") {
			failed = append(failed, f)
		}
	}
	err = cmd.Wait()
	for _, f := range failed {
		t.Log("windows: " + f)
	}
	if err != nil {
		t.Fatalf("Windows tests under Wine: %v", err)
	}
}

// winPath is path as Windows programs under Wine see it (drive Z: is /).
func winPath(path string) string {
	return `Z:` + strings.ReplaceAll(path, "/", `\`)
}

// procsWithEnv returns the processes whose environment holds kv.
func procsWithEnv(kv string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		for _, v := range strings.Split(string(b), "\x00") {
			if v == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
