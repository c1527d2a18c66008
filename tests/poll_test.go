//go:build linux

package tests

import (
	"testing"
	"time"
)

// pollLimit bounds every wait of the tests: long enough for a loaded
// two-core machine, short enough that a hang is reported, not timed out.
const pollLimit = 30 * time.Second

// poll checks cond every 2 ms until it holds (true) or limit passes (false).
// It is how every test waits for a file, a line or a pid: never a sleep.
func poll(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitUntil waits up to pollLimit for cond and fails t saying what it
// waited for: a timeout of the test's own wait, not a finding about the
// guard.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(pollLimit, cond) {
		t.Fatalf("test timeout: waited %v for %s", pollLimit, what)
	}
}
