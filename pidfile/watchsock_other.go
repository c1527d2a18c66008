//go:build !linux

package pidfile

import (
	"errors"
	"os"
)

// Peer is the process at the other end of a watcher connection.
type Peer struct{ PID int }

// WatcherListener is the watcher's listening socket: Linux only; elsewhere
// each run has a watchdog of its own.
type WatcherListener struct{}

var errNoWatcher = errors.New("pidfile: no shared watcher on this system")

func (r *Registry) ListenWatcher() (*WatcherListener, error) { return nil, errNoWatcher }
func (l *WatcherListener) Fd() int                           { return -1 }
func (l *WatcherListener) Accept() (int, Peer, error)        { return -1, Peer{}, errNoWatcher }
func (l *WatcherListener) Close() error                      { return nil }
func (r *Registry) DialWatcher() (*os.File, Peer, error)     { return nil, Peer{}, errNoWatcher }
