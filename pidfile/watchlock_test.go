package pidfile

import "testing"

func TestWatchLockIsOurs(t *testing.T) {
	for name, want := range map[string]bool{
		".daemon-0123456789abcdef.watch": true,
		"0123456789abcdef.watch":         false,
		".daemon-0123456789abcdeg.watch": false,
		".daemon-0123456789abcdef.lock":  false,
		".daemon-0123.watch":             false,
	} {
		if got := Ours(name); got != want {
			t.Errorf("Ours(%q) = %v, want %v", name, got, want)
		}
	}
}
