package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/claude-guard/claude-guard/pidfile"
	"github.com/claude-guard/claude-guard/reaper"
)

// writeRowsJSON writes byte for byte what writeJSON writes, for any number
// of rows, whatever they hold.
func TestWriteRowsJSONSameAsWriteJSON(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1001} {
		rows := []reaper.Row{}
		for i := 0; i < n; i++ {
			r := reaper.Row{RunID: fmt.Sprintf("run%d", i), State: reaper.StateStale, Kind: reaper.KindRun,
				PID: i, Cwd: "/tmp/<a&b>", Argv: []string{"claude", "-p", "é \u2028 \"q\""},
				StartedAt: time.Unix(int64(i), 0).UTC()}
			switch i % 3 {
			case 1:
				r.Argv, r.StartedAt = nil, time.Time{}
			case 2:
				r.Kind, r.Sessions = pidfile.KindDaemon, []pidfile.Session{{ID: "s", PID: 7}}
			}
			rows = append(rows, r)
		}
		var want, got bytes.Buffer
		if err := writeJSON(&want, rows); err != nil {
			t.Fatal(err)
		}
		if err := writeRowsJSON(&got, rows); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Fatalf("%d rows: writeRowsJSON differs from writeJSON:\n%.400s\nvs\n%.400s", n, got.Bytes(), want.Bytes())
		}
	}
}

// indent writes what json.Indent writes, for any JSON json.Marshal can
// write (compact, valid).
func FuzzIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[],"b":{},"c":[{}]}`, `"x"`, `1`, `null`,
		`{"s":"a\"b\\c,{}[]:\u2028","n":-1.5e3,"t":true,"l":[1,[2,[3]],{"k":"v"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var src bytes.Buffer
		if json.Compact(&src, in) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, src.Bytes(), "  ", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indent([]byte("x"), src.Bytes(), "  "); !bytes.Equal(got[1:], want.Bytes()) {
			t.Fatalf("indent(%q) = %q, want %q", src.Bytes(), got[1:], want.Bytes())
		}
	})
}
