//go:build unix

package launcher

import (
	"os"
	"syscall"
)

// startWatcherProcess starts `claude-guard __daemon-watch REGISTRY CFGDIR`
// in its own session, stdio on /dev/null, without run cookies.
func startWatcherProcess(registry, cfgDir string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	fd := null.Fd()
	// argv[0] is claude-guard: under the name claude this binary is a shim.
	pid, _, err := syscall.StartProcess(self, []string{"claude-guard", DaemonWatchCommand, registry, cfgDir}, &syscall.ProcAttr{
		Env:   watcherEnv(),
		Files: []uintptr{fd, fd, fd},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	return pid, err
}
