//go:build !linux

package reaper

import (
	"time"

	"github.com/claude-guard/claude-guard/killtree"
)

// exitWaiter waits for a process that is not our child to exit, polling.
type exitWaiter struct{ id killtree.ID }

func newExitWaiter(id killtree.ID) *exitWaiter { return &exitWaiter{id: id} }

// wait reports whether the process has exited, waiting up to d.
func (w *exitWaiter) wait(d time.Duration) bool { return waitPolling(w.id, d) }

func (w *exitWaiter) close() {}
