//go:build unix

package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root installing the shim into a user's home (sudo -E keeps HOME) creates
// nothing there.
func TestInstallShimNeverInAnotherUsersHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (a directory of another uid)")
	}
	home := filepath.Join(t.TempDir(), "user")
	os.Mkdir(home, 0o755)
	os.Chown(home, 4242, 4242)
	_, err := InstallShim(filepath.Join(home, ".local", "bin"))
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 4242") {
		t.Fatalf("InstallShim: %v", err)
	}
	if names, _ := os.ReadDir(home); len(names) != 0 {
		t.Fatalf("created %v in the user's home", names)
	}
}
