package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// catchSIGPIPE is called before a subcommand's first write, and by warn: a
// guard's own path leaves it to launcher.NotifySignals, in the background,
// before its command starts, and to warn should it say something before; the
// watcher and watchdog (stdio on /dev/null) write only through warn.
// stderr belongs to whoever started the guard and may be a pipe nobody reads
// any more: a diagnostic written there must fail with EPIPE, which warn
// drops, not kill the guard before its command starts. (A closed stderr is
// reopened on /dev/null by the Go runtime at startup, so EBADF cannot
// happen on Unix; on Windows a failed write is an error, dropped too.) The
// child still gets the default SIGPIPE: signal dispositions caught here
// are reset by exec.
func catchSIGPIPE() {
	pipeCaught.Do(func() { signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) })
}

var pipeCaught sync.Once
