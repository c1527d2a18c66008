//go:build unix

package killtree

import "golang.org/x/sys/unix"

// stop freezes a process before its SIGKILL round: a stopped process
// cannot fork.
func stop(id ID) error { return Signal(id, unix.SIGSTOP) }
