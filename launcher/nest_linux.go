package launcher

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// parentIsGuard reports whether the parent process runs this program.
func parentIsGuard() bool {
	self, err1 := os.Stat("/proc/self/exe")
	parent, err2 := os.Stat("/proc/" + strconv.Itoa(os.Getppid()) + "/exe")
	return err1 == nil && err2 == nil && os.SameFile(self, parent)
}

// execClaude replaces the guard with path: the enclosing guard already
// contains it.
func execClaude(path string, argv []string) error {
	var err error
	withAllCPUs(func() { err = unix.Exec(path, argv, os.Environ()) })
	return err
}
