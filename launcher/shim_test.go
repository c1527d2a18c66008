package launcher

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestInstallShim(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix paths")
	}
	bin, real := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(real, "claude"), []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("CLAUDE_GUARD_CLAUDE", "")
	t.Setenv("PATH", real+string(os.PathListSeparator)+bin)

	st, err := InstallShim(bin)
	if err != nil || !st.Created || !st.OnPath || !st.Shadowed || st.RealClaude != filepath.Join(real, "claude") {
		t.Fatalf("InstallShim = %+v, %v; want created, on PATH, shadowed by %s", st, err, real)
	}
	if !IsSelf(st.Path) {
		t.Fatalf("%s is not this program", st.Path)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+real)
	if st, err = InstallShim(bin); err != nil || st.Created || st.Shadowed {
		t.Fatalf("again: %+v, %v; want already there, not shadowed", st, err)
	}
	if got := ClaudesOnPath(); len(got) != 2 || !got[0].Guard || got[1].Guard {
		t.Errorf("ClaudesOnPath = %+v", got)
	}

	// the real claude is never written over nor removed
	if _, err := InstallShim(real); !errors.Is(err, ErrNotShim) {
		t.Errorf("install over a real claude: %v, want ErrNotShim", err)
	}
	if _, _, err := UninstallShim(real); !errors.Is(err, ErrNotShim) {
		t.Errorf("uninstall a real claude: %v, want ErrNotShim", err)
	}
	if b, _ := os.ReadFile(filepath.Join(real, "claude")); string(b) != "#!/bin/sh\n" {
		t.Errorf("real claude changed: %q", b)
	}
	if _, removed, err := UninstallShim(bin); !removed || err != nil {
		t.Errorf("uninstall = %v, %v", removed, err)
	}
	if _, removed, err := UninstallShim(bin); removed || err != nil {
		t.Errorf("uninstall of nothing = %v, %v", removed, err)
	}
}

func TestCopyShimIsRecognised(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, ShimName())
	if err := copyExecutable(self, dst); err != nil {
		t.Fatal(err)
	}
	if err := copyExecutable(self, dst); err == nil {
		t.Error("copy over an existing file succeeded")
	}
	if _, removed, err := UninstallShim(dir); !removed || err != nil {
		t.Errorf("uninstall of a byte-identical copy = %v, %v", removed, err)
	}
}
