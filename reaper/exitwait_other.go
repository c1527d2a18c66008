//go:build !linux

package reaper

import (
	"time"

	"github.com/claude-guard/claude-guard/killtree"
)

// waitExit waits until process id has exited, at most d.
func waitExit(id killtree.ID, d time.Duration) { pollExit(id, d) }
