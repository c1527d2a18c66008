package main

import (
	"os"
	"os/signal"
	"syscall"
)

// catchSIGPIPE is called in guard mode before the guard's first write.
// stderr belongs to whoever started the guard and may be a pipe nobody reads
// any more: a diagnostic written there must fail with EPIPE, which warn
// drops, not kill the guard before its command starts. (A closed stderr is
// reopened on /dev/null by the Go runtime at startup, so EBADF cannot
// happen on Unix; on Windows a failed write is an error, dropped too.) The
// child still gets the default SIGPIPE: signal dispositions caught here
// are reset by exec.
func catchSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
