package launcher

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// resolve finds the executable for name. The command claude is never
// resolved to this binary itself (a shim on PATH would otherwise run itself
// forever): the real claude is $CLAUDE_GUARD_CLAUDE, else the first claude on
// PATH that is not this program.
func resolve(name string) (string, error) {
	if IsClaude(name) && !strings.ContainsRune(name, filepath.Separator) {
		return findClaude()
	}
	if strings.ContainsAny(name, `/`+string(filepath.Separator)) {
		return checkExecutable(name)
	}
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path, nil
	case errors.Is(err, exec.ErrDot):
		return path, nil // the user's PATH says so; the shell would run it too
	case errors.Is(err, exec.ErrNotFound):
		return "", errorf(127, "%s: command not found", name)
	default:
		return "", errorf(126, "%s: %v", name, err)
	}
}

// IsClaude reports whether name (a path or a bare name) names claude: claude,
// or claude.exe on Windows.
func IsClaude(name string) bool {
	base := filepath.Base(name)
	if runtime.GOOS == "windows" {
		base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	}
	return base == "claude"
}

func checkExecutable(path string) (string, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", errorf(127, "%s: no such file", path)
	case err != nil:
		return "", errorf(126, "%s: %v", path, err)
	case fi.IsDir():
		return "", errorf(126, "%s: is a directory", path)
	case !isExecutable(fi):
		return "", errorf(126, "%s: permission denied (not executable)", path)
	}
	return path, nil
}

// isExecutable: a file, with an execute bit where the system has them.
func isExecutable(fi os.FileInfo) bool {
	return !fi.IsDir() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0)
}

// walkClaudes calls fn with each executable claude on PATH, in PATH order,
// until fn returns false.
func walkClaudes(fn func(path string) bool) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		for _, name := range claudeNames {
			path := filepath.Join(dir, name)
			if fi, err := os.Stat(path); err != nil || !isExecutable(fi) {
				continue
			}
			if !fn(path) {
				return
			}
		}
	}
}

// findClaude returns the real claude, never this program.
func findClaude() (string, error) {
	self, _ := os.Executable()
	if p := os.Getenv("CLAUDE_GUARD_CLAUDE"); p != "" {
		path, err := checkExecutable(p)
		if err != nil {
			return "", err
		}
		if sameProgram(path, self) {
			return "", errorf(127, "CLAUDE_GUARD_CLAUDE=%s is claude-guard itself; point it at the real claude", p)
		}
		return path, nil
	}
	var found string
	walkClaudes(func(path string) bool {
		if !sameProgram(path, self) {
			found = path
		}
		return found == ""
	})
	if found != "" {
		return found, nil
	}
	return "", errorf(127, "claude: command not found: searched PATH (%s) for %s that is not claude-guard itself; install claude (npm install -g @anthropic-ai/claude-code) or set CLAUDE_GUARD_CLAUDE",
		os.Getenv("PATH"), strings.Join(claudeNames, ", "))
}

// sameProgram compares files, not names: a link or a copy of this binary
// under the name claude is still this binary.
func sameProgram(path, self string) bool {
	if self == "" {
		return false
	}
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(self)
	if err1 != nil || err2 != nil {
		return false
	}
	if os.SameFile(a, b) {
		return true
	}
	if a.Size() != b.Size() {
		return false
	}
	return sameContent(path, self)
}

func sameContent(p, q string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	g, err := os.Open(q)
	if err != nil {
		return false
	}
	defer g.Close()
	bf, bg := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		n, errf := io.ReadFull(f, bf)
		m, errg := io.ReadFull(g, bg)
		if n != m || string(bf[:n]) != string(bg[:m]) {
			return false
		}
		if errf != nil || errg != nil {
			return errf == errg || (n == m && errors.Is(errf, io.ErrUnexpectedEOF) && errors.Is(errg, io.ErrUnexpectedEOF))
		}
	}
}
