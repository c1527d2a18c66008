//go:build linux

package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is what the tests read of /proc/<pid>/stat: the one parser of it
// in the tests (the command's own is killtree's, not used here so that the
// tests check it).
type procStat struct {
	state           string
	ppid, pgid, sid int
	start           uint64 // field 22, clock ticks since boot
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(data)
	// comm, field 2, may hold spaces and parentheses: the fields after it
	// start after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("bad stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("bad stat %q", s)
	}
	var st procStat
	st.state = f[0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgid, _ = strconv.Atoi(f[2])
	st.sid, _ = strconv.Atoi(f[3])
	st.start, _ = strconv.ParseUint(f[19], 10, 64)
	return st, nil
}
