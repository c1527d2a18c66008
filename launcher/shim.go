package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// The shim is this program under the name claude, in a directory that comes
// before the real claude's on PATH: whatever starts "claude" then starts the
// guard, which finds the real claude past itself.

// ErrNotShim reports a DIR/claude that is not this program: the shim is never
// written over it, and uninstall never removes it.
var ErrNotShim = errors.New("not claude-guard")

// FindClaude returns the real claude the guard would run for the command
// claude: $CLAUDE_GUARD_CLAUDE, else the first claude on PATH that is not
// this program.
func FindClaude() (string, error) {
	path, err := findClaude()
	var se *StartError
	if errors.As(err, &se) {
		return "", se.Err
	}
	return path, err
}

// Self returns the absolute path of this program's executable, links
// resolved.
func Self() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("launcher: find own executable: %w", err)
	}
	if p, err := filepath.EvalSymlinks(self); err == nil {
		self = p
	}
	return self, nil
}

// IsSelf reports whether path is this program: the same file, a link to it,
// or a byte-identical copy.
func IsSelf(path string) bool {
	self, err := Self()
	return err == nil && sameProgram(path, self)
}

// ShimName is the shim's file name.
func ShimName() string {
	if runtime.GOOS == "windows" {
		return "claude.exe"
	}
	return "claude"
}

// OnPath is one claude found on PATH.
type OnPath struct {
	Path  string `json:"path"`
	Guard bool   `json:"guard"` // this program (a shim), not the real claude
}

// ClaudesOnPath lists every claude on PATH, in the order PATH gives.
func ClaudesOnPath() []OnPath {
	var out []OnPath
	seen := map[string]bool{}
	walkClaudes(func(path string) bool {
		if !seen[path] {
			seen[path] = true
			out = append(out, OnPath{Path: path, Guard: IsSelf(path)})
		}
		return true
	})
	return out
}

// ShimState is where a shim stands on PATH.
type ShimState struct {
	Path       string // DIR/claude
	Created    bool   // this call made it (false: it was there already)
	Copied     bool   // a copy, links being impossible here
	OnPath     bool   // DIR is on PATH
	RealClaude string // the real claude the shim runs, if any
	Shadowed   bool   // a real claude comes before DIR on PATH: the shim is never reached
}

// InstallShim makes DIR/claude this program: a symlink, or where links are
// not possible a copy. Anything else already there is left alone (ErrNotShim).
func InstallShim(dir string) (ShimState, error) {
	self, err := Self()
	if err != nil {
		return ShimState{}, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return ShimState{}, fmt.Errorf("launcher: %w", err)
	}
	st := ShimState{Path: filepath.Join(dir, ShimName())}
	if _, err := os.Lstat(st.Path); err == nil {
		if !sameProgram(st.Path, self) {
			return st, fmt.Errorf("launcher: %s: %w", st.Path, ErrNotShim)
		}
		return shimPathState(st, dir), nil
	}
	if err := mayCreate(dir); err != nil {
		return st, fmt.Errorf("launcher: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("launcher: create %s: %w", dir, err)
	}
	if err := os.Symlink(self, st.Path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return st, fmt.Errorf("launcher: %s appeared meanwhile: %w", st.Path, ErrNotShim)
		}
		if cerr := copyExecutable(self, st.Path); cerr != nil {
			return st, fmt.Errorf("launcher: link %s: %v; copy: %w", st.Path, err, cerr)
		}
		st.Copied = true
	}
	st.Created = true
	return shimPathState(st, dir), nil
}

// UninstallShim removes DIR/claude only if it is this program (a link to it
// or a byte-identical copy). removed is false when there was nothing there.
func UninstallShim(dir string) (path string, removed bool, err error) {
	path = filepath.Join(dir, ShimName())
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return path, false, nil
	}
	if !IsSelf(path) {
		return path, false, fmt.Errorf("launcher: %s: %w", path, ErrNotShim)
	}
	if err := os.Remove(path); err != nil {
		return path, false, fmt.Errorf("launcher: %w", err)
	}
	return path, true, nil
}

func shimPathState(st ShimState, dir string) ShimState {
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		if p == "" {
			p = "."
		}
		if sameDir(p, dir) {
			st.OnPath = true
			break
		}
	}
	for _, c := range ClaudesOnPath() {
		if c.Guard && sameDir(filepath.Dir(c.Path), dir) {
			break // the shim comes first: a real claude after it is what it runs
		}
		if !c.Guard {
			st.Shadowed = st.OnPath // a real claude comes first: the shim is never reached
			break
		}
	}
	st.RealClaude, _ = FindClaude()
	return st
}

func sameDir(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// copyExecutable copies src to dst (mode 0755) through a temporary file, so
// dst is never seen half written; dst must not exist.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".claude-shim-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		// A link, not a rename: it fails rather than replace what appeared.
		err = os.Link(tmp.Name(), dst)
		if _, lerr := os.Lstat(dst); err != nil && errors.Is(lerr, os.ErrNotExist) {
			err = os.Rename(tmp.Name(), dst) // no hard links here either
		}
	}
	os.Remove(tmp.Name())
	return err
}
