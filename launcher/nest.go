package launcher

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/claude-guard/claude-guard/pidfile"
)

// Nesting. A guard inside a guard is fine (claude's Bash tool may run
// claude), but a wrapper script named claude on PATH that runs
// `claude-guard claude "$@"` would have each guard find the wrapper again
// and start one more guard, without end. Two things bound it:
//   - a guard started directly by a guard that ran the same claude path
//     (the wrapper exec'd it) is that guard's command: it execs the real
//     claude past the wrapper instead of starting another guard;
//   - whatever the route, a guard whose cookie already names MaxDepth runs
//     refuses to start, with an error that names the likely cause.

// MaxDepth is the most guards that may enclose a guard.
const MaxDepth = 5

// childPathEnv tells a guard's command which run started it, and through
// which path: "RUNID:PATH".
const childPathEnv = "CLAUDE_GUARD_CHILD"

func checkDepth() error {
	v := os.Getenv(pidfile.CookieEnv)
	if v == "" {
		return nil
	}
	if n := strings.Count(v, ":") + 1; n >= MaxDepth {
		return errorf(1, "refusing to start: %d guards already enclose this one (%s=%s); a wrapper script named claude on PATH that runs claude-guard claude? point CLAUDE_GUARD_CLAUDE at the real claude",
			n, pidfile.CookieEnv, v)
	}
	return nil
}

// loopsBack reports whether starting path would start this guard again: the
// innermost run's guard started path, and this guard is its direct child,
// so path led back here.
func loopsBack(path string) bool {
	runs := strings.Split(os.Getenv(pidfile.CookieEnv), ":")
	id, started, ok := strings.Cut(os.Getenv(childPathEnv), ":")
	if !ok || id != runs[len(runs)-1] {
		return false
	}
	a, err1 := os.Stat(started)
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b) && parentIsGuard()
}

// claudePast returns the first claude on PATH that is neither this program
// nor the file at skip.
func claudePast(skip string) (string, error) {
	self, _ := os.Executable()
	si, err := os.Stat(skip)
	if err != nil {
		return "", errorf(127, "claude: %v", err)
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		for _, name := range claudeNames {
			path := filepath.Join(dir, name)
			fi, err := os.Stat(path)
			if err != nil || fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode()&0o111 == 0) || os.SameFile(fi, si) || sameProgram(path, self) {
				continue
			}
			return path, nil
		}
	}
	return "", errorf(127, "claude: %s runs claude-guard again, and no other claude is on PATH; point CLAUDE_GUARD_CLAUDE at the real claude", skip)
}
