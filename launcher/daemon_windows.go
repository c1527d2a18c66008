package launcher

import "errors"

// startWatcherProcess: claude's background daemon is not watched on Windows
// (not measured there yet).
func startWatcherProcess(registry, cfgDir string) (int, error) {
	return 0, errors.ErrUnsupported
}
