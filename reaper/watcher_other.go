//go:build !linux

package reaper

import (
	"errors"
	"time"
)

// serve: the shared watcher is Linux's (pidfile.ListenWatcher fails
// elsewhere, so it is never reached).
func (w *watcher) serve(time.Duration) error { return errors.ErrUnsupported }
