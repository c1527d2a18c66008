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

// startHelper starts this binary as `claude-guard ARGS...` (a watcher)
// detached, without run cookies; extra descriptors follow as 3, 4...
func startHelper(args []string, extra ...*os.File) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// argv[0] is claude-guard: under the name claude this binary is a shim.
	return startInSession(self, append([]string{"claude-guard"}, args...), watcherEnv(), extra...)
}

// startInSession starts path in a session of its own, stdio on /dev/null,
// with the CPUs the guard was given; extra descriptors follow as 3, 4...
func startInSession(path string, argv, env []string, extra ...*os.File) (int, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	files := []uintptr{null.Fd(), null.Fd(), null.Fd()}
	for _, f := range extra {
		files = append(files, f.Fd())
	}
	var pid int
	withAllCPUs(func() {
		pid, _, err = syscall.StartProcess(path, argv, &syscall.ProcAttr{
			Env:   env,
			Files: files,
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
	})
	return pid, err
}
