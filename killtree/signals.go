package killtree

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// The signals a user may name (kill --signal), on every system.
var signalNames = []struct {
	name string
	sig  syscall.Signal
}{
	{"TERM", syscall.SIGTERM}, {"INT", syscall.SIGINT}, {"HUP", syscall.SIGHUP},
	{"KILL", syscall.SIGKILL}, {"QUIT", syscall.SIGQUIT},
}

// ParseSignal reads a signal name (TERM, SIGTERM, term) or number.
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	for _, sn := range signalNames {
		if sn.name == name {
			return sn.sig, nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q (use TERM, INT, HUP, KILL, QUIT or a number)", s)
}

// SignalNames are the signal names ParseSignal reads, the usual one first.
func SignalNames() []string {
	out := make([]string, len(signalNames))
	for i, sn := range signalNames {
		out[i] = sn.name
	}
	return out
}

// SignalName names sig as ParseSignal reads it: TERM, or a number.
func SignalName(sig syscall.Signal) string {
	for _, sn := range signalNames {
		if sn.sig == sig {
			return sn.name
		}
	}
	return strconv.Itoa(int(sig))
}
