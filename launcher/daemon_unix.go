//go:build unix

package launcher

import (
	"os"
	"syscall"
)

// startWatcherProcess starts `claude-guard __daemon-watch REGISTRY CFGDIR`.
func startWatcherProcess(registry, cfgDir string) (int, error) {
	return startHelper([]string{DaemonWatchCommand, registry, cfgDir})
}

// startHelper starts this binary as `claude-guard ARGS...` (a watcher) in a
// session of its own, stdio on /dev/null, without run cookies; extra
// descriptors follow as 3, 4...
func startHelper(args []string, extra ...*os.File) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	files := []uintptr{null.Fd(), null.Fd(), null.Fd()}
	for _, f := range extra {
		files = append(files, f.Fd())
	}
	// argv[0] is claude-guard: under the name claude this binary is a shim.
	var pid int
	withAllCPUs(func() {
		pid, _, err = syscall.StartProcess(self, append([]string{"claude-guard"}, args...), &syscall.ProcAttr{
			Env:   watcherEnv(),
			Files: files,
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
	})
	return pid, err
}
