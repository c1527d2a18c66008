package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The watcher's socket is a Unix stream socket in the registry (mode 0700,
// the caller's own), reached with x/sys alone: the net package would link
// the guard against libc. Each end checks the other's uid (SO_PEERCRED).

// Peer is the process at the other end of a watcher connection (of the
// caller's own uid: others are refused).
type Peer struct{ PID int }

// sockAddr names the socket; a path too long for sun_path (108 bytes) is
// reached through /proc/self/fd and a descriptor of the registry. done
// closes that descriptor once the address has been used.
func (r *Registry) sockAddr() (addr *unix.SockaddrUnix, done func(), err error) {
	path := filepath.Join(r.dir, WatcherSocket)
	if len(path) < 108 {
		return &unix.SockaddrUnix{Name: path}, func() {}, nil
	}
	fd, err := unix.Open(r.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("pidfile: %w", err)
	}
	return &unix.SockaddrUnix{Name: "/proc/self/fd/" + strconv.Itoa(fd) + "/" + WatcherSocket}, func() { unix.Close(fd) }, nil
}

func newSocket() (int, error) {
	return unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
}

// peer reads the credentials of the other end, and refuses another user's.
func peer(fd int) (Peer, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Peer{}, err
	}
	if int(u.Uid) != os.Geteuid() {
		return Peer{}, fmt.Errorf("pidfile: watcher socket: peer of uid %d", u.Uid)
	}
	return Peer{PID: int(u.Pid)}, nil
}

// WatcherListener is the watcher's listening socket, a non-blocking
// descriptor the watcher polls itself (see Fd).
type WatcherListener struct {
	fd   int
	r    *Registry
	stat unix.Stat_t // the socket file, removed on Close only if still this one
}

// ListenWatcher binds the registry's watcher socket. The caller holds
// LockWatcher: a socket file found there is a dead watcher's, and goes.
func (r *Registry) ListenWatcher() (*WatcherListener, error) {
	addr, done, err := r.sockAddr()
	if err != nil {
		return nil, err
	}
	defer done()
	path := filepath.Join(r.dir, WatcherSocket)
	// Not a dead watcher's socket: moved aside, never removed.
	isSocket := func(m os.FileMode) bool { return m.Type() == os.ModeSocket }
	if err := r.setAside(path, isSocket, "watcher socket is not a socket"); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	fd, err := newSocket()
	if err != nil {
		return nil, fmt.Errorf("pidfile: watcher socket: %w", err)
	}
	l := &WatcherListener{r: r}
	if err = unix.Bind(fd, addr); err == nil {
		err = unix.Listen(fd, 4096) // the kernel caps it at somaxconn
	}
	if err == nil {
		err = unix.Lstat(path, &l.stat)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pidfile: watcher socket: %w", err)
	}
	l.fd = fd
	return l, nil
}

// Fd is the listening descriptor, for the watcher's poll.
func (l *WatcherListener) Fd() int { return l.fd }

// Accept takes the next guard waiting, without waiting: unix.EAGAIN when
// none is. The connection is a non-blocking descriptor, the caller's to
// close.
func (l *WatcherListener) Accept() (int, Peer, error) {
	for {
		nfd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return -1, Peer{}, err
		}
		p, err := peer(nfd)
		if err != nil {
			unix.Close(nfd)
			continue // another user's process: not served
		}
		return nfd, p, nil
	}
}

// Close stops listening and removes the socket file, if it is still this
// listener's.
func (l *WatcherListener) Close() error {
	var st unix.Stat_t
	path := filepath.Join(l.r.dir, WatcherSocket)
	if unix.Lstat(path, &st) == nil && st.Ino == l.stat.Ino && st.Dev == l.stat.Dev {
		_ = os.Remove(path)
	}
	return unix.Close(l.fd)
}

// DialWatcher connects to the registry's watcher and returns the
// connection and the watcher's pid. An error: no watcher listens.
func (r *Registry) DialWatcher() (*os.File, Peer, error) {
	addr, done, err := r.sockAddr()
	if err != nil {
		return nil, Peer{}, err
	}
	defer done()
	fd, err := newSocket()
	if err != nil {
		return nil, Peer{}, fmt.Errorf("pidfile: watcher socket: %w", err)
	}
	// A connect to a listening Unix socket completes at once, or fails
	// with EAGAIN when its backlog is full: no watcher to be had now.
	if err := unix.Connect(fd, addr); err != nil {
		unix.Close(fd)
		return nil, Peer{}, err
	}
	p, err := peer(fd)
	if err != nil {
		unix.Close(fd)
		return nil, Peer{}, err
	}
	return os.NewFile(uintptr(fd), "watcher connection"), p, nil
}
