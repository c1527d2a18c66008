//go:build unix

package launcher

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mayCreate says whether dir may be created: only inside a directory owned
// by the caller or by root, so root (sudo -E keeps the user's HOME) never
// makes a root-owned ~/.local in someone's home.
func mayCreate(dir string) error {
	p := filepath.Clean(dir)
	for {
		var st unix.Stat_t
		err := unix.Stat(p, &st)
		if err == nil {
			if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
				return fmt.Errorf("will not create %s inside %s, which belongs to uid %d, not you (uid %d)", dir, p, st.Uid, os.Geteuid())
			}
			return nil
		}
		if p == filepath.Dir(p) {
			return nil
		}
		p = filepath.Dir(p)
	}
}
