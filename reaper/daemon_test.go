package reaper

import (
	"testing"

	"github.com/claude-guard/claude-guard/killtree"
)

func TestParseDaemonStatus(t *testing.T) {
	for _, c := range []struct {
		in   string
		want killtree.ID
		ok   bool
	}{
		// as claude 2.1.328 writes it
		{`{"supervisorPid": 24805, "supervisorProcStart": "20687", "writtenAt": 1795699712236, "workers": {}}`, killtree.ID{PID: 24805, Start: 20687}, true},
		{`{"supervisorPid": 24805, "supervisorProcStart": 20687}`, killtree.ID{PID: 24805, Start: 20687}, true},
		{`{"supervisorPid": 24805}`, killtree.ID{}, false},
		{`{"supervisorPid": 1, "supervisorProcStart": "5"}`, killtree.ID{}, false},
		{`{"supervisorPid": -3, "supervisorProcStart": "5"}`, killtree.ID{}, false},
		{`{"supervisorPid": 7, "supervisorProcStart": "x"}`, killtree.ID{}, false},
		{`not json`, killtree.ID{}, false},
	} {
		got, ok := parseDaemonStatus([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseDaemonStatus(%s) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
