//go:build !linux

package launcher

// watch starts the run's own watchdog: the shared watcher is Linux's.
func (g *guard) watch() { g.startWatchdog() }
