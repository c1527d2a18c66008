package reaper

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	rows := []Row{
		{RunID: "19a9bd2c0d1deadbeef", PID: 101, SessionID: "5e551011-0000-4000-8000-000000000001", Label: "nvim"},
		{RunID: "19a9bd2c0d2cafef00d", PID: 102, SessionID: "5e551011-0000-4000-8000-000000000002"},
		{RunID: "19a9be00000aaaaaaaa", PID: 103, SessionID: "0bad0bad-0000-4000-8000-000000000003"},
		{RunID: "1aaaaaaaaaa00000000", State: "unknown", Schema: 2},
	}
	for target, want := range map[string]string{
		"19a9bd2c0d1deadbeef":                  "19a9bd2c0d1deadbeef",
		"102":                                  "19a9bd2c0d2cafef00d",
		"nvim":                                 "19a9bd2c0d1deadbeef",
		"19a9be":                               "19a9be00000aaaaaaaa",
		"19a9bd2c0d2":                          "19a9bd2c0d2cafef00d",
		"0bad0bad":                             "19a9be00000aaaaaaaa", // the 8 characters ps shows
		"5e551011-0000-4000-8000-000000000002": "19a9bd2c0d2cafef00d",
		"1aaa":                                 "1aaaaaaaaaa00000000",
	} {
		r, err := Match(rows, target)
		if err != nil || r.RunID != want {
			t.Errorf("Match(%q) = %s, %v; want %s", target, r.RunID, err, want)
		}
	}
	for target, wantErr := range map[string]string{
		"1":        "at least 4 characters",
		"19a":      "at least 4 characters",
		"0bad":     "no guarded run matches", // a session prefix needs 8
		"0bad0ba":  "no guarded run matches", // still short of 8
		"19a9":     "ambiguous, it matches 3 runs",
		"5e551011": "ambiguous, it matches 2 runs",
		"0":        "no guarded run matches",
		"":         "no guarded run matches",
	} {
		_, err := Match(rows, target)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Match(%q): %v; want %q", target, err, wantErr)
		}
	}
	_, err := Match(rows, "19a9bd")
	if err == nil || !strings.Contains(err.Error(), "19a9bd2c0d1deadbeef (pid 101") || !strings.Contains(err.Error(), "19a9bd2c0d2cafef00d (pid 102") {
		t.Errorf("ambiguous prefix does not list the candidates: %v", err)
	}
}
