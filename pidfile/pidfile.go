// Package pidfile is the on-disk registry of guarded runs: one JSON entry per
// run, written atomically, and one lock file per run that the run's guard holds
// for its whole life. A lock that can be taken means the guard is gone. The
// package knows nothing of what runs do or how they end.
package pidfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Schema is the version of the entry format this build reads and writes.
const Schema = 1

// CookieEnv is the environment variable that marks every process of a run:
// a ':'-separated list of run ids, innermost last, so a nested guard keeps the
// outer run's mark.
const CookieEnv = "CLAUDE_GUARD_RUN"

// maxEntrySize bounds what is read from one entry file.
const maxEntrySize = 16 << 20

var (
	// ErrLive reports a run whose guard still holds its lock.
	ErrLive = errors.New("pidfile: run is live")
	// ErrGone reports a run whose files are gone: it ended or was reaped.
	ErrGone = errors.New("pidfile: run is gone")
)

// Proc is one recorded process: pid and start ticks.
type Proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Entry is what the registry knows of one run.
type Entry struct {
	Schema     int       `json:"schema"`
	RunID      string    `json:"run_id"`
	GuardPID   int       `json:"guard_pid"`
	GuardStart uint64    `json:"guard_start"`
	PID        int       `json:"pid"`
	Start      uint64    `json:"start"`
	PGID       int       `json:"pgid"`
	BootID     string    `json:"boot_id"`
	Cookie     string    `json:"cookie"`
	UID        int       `json:"uid"`
	SessionID  string    `json:"session_id"`
	Model      string    `json:"model"`
	Cwd        string    `json:"cwd"`
	Argv       []string  `json:"argv"`
	Label      string    `json:"label"`
	StartedAt  time.Time `json:"started_at"`
	GraceMS    int64     `json:"grace_ms"`
	Tree       []Proc    `json:"tree"`
	// Cgroup is the run's own cgroup v2 directory, where it has one: the
	// exact membership of the run. It is untrusted input like the rest:
	// readers check it names a claude-guard cgroup of this run.
	Cgroup string `json:"cgroup,omitempty"`

	// Kind is KindDaemon for claude's background supervisor, watched as a
	// thing of its own; empty (an ordinary run) otherwise.
	Kind string `json:"kind,omitempty"`
	// ConfigDir is the daemon's CLAUDE_CONFIG_DIR (daemon entries only).
	ConfigDir string `json:"config_dir,omitempty"`
	// Sessions are the daemon's background sessions (daemon entries only).
	Sessions []Session `json:"sessions,omitempty"`
}

// KindDaemon marks the entry of claude's background daemon.
const KindDaemon = "daemon"

// Session is one background session of claude's daemon, as claude's own
// files describe it.
type Session struct {
	ID    string `json:"id"`
	Short string `json:"short,omitempty"`
	State string `json:"state,omitempty"`
	PID   int    `json:"pid,omitempty"`
}

// Decode parses and checks one entry. name is the run id the file is named by.
func Decode(data []byte, name string) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil { // trailing data is an error too
		// A newer format may not fit this one's types: its version says so.
		var v struct {
			Schema int `json:"schema"`
		}
		if json.Unmarshal(data, &v) == nil && v.Schema > Schema {
			return Entry{}, &SchemaError{Version: v.Schema}
		}
		return Entry{}, fmt.Errorf("not a claude-guard entry: %w", err)
	}
	switch {
	case e.Schema > Schema:
		return Entry{}, &SchemaError{Version: e.Schema}
	case e.Schema != Schema:
		return Entry{}, fmt.Errorf("unknown schema version %d", e.Schema)
	case e.RunID != name || !ValidRunID(name):
		return Entry{}, fmt.Errorf("run id %q does not match file name", e.RunID)
	case e.PID < 0 || e.GuardPID < 0 || e.PGID < 0 || e.UID < -1: // -1: Windows, where os.Geteuid is -1
		return Entry{}, errors.New("negative pid")
	}
	for _, p := range e.Tree {
		if p.PID <= 0 {
			return Entry{}, errors.New("bad pid in tree")
		}
	}
	return e, nil
}

// SchemaError reports an entry written by a newer claude-guard, in a format
// this one cannot read. Such entries are listed as such, never quarantined:
// the newer guard that wrote it may be running it.
type SchemaError struct{ Version int }

func (e *SchemaError) Error() string {
	return fmt.Sprintf("entry of schema version %d, newer than this claude-guard's %d", e.Version, Schema)
}

// NewRunID returns a run id that is unique and sorts by start time:
// 11 hex digits of Unix milliseconds, then 8 random hex digits. The random
// part need not be secret (math/rand/v2, seeded by the runtime from the
// OS): crypto/rand and crypto/sha256 would link Go's FIPS module, whose
// package inits cost every launch 50-70 µs.
func NewRunID() string {
	return fmt.Sprintf("%011x%08x", time.Now().UnixMilli(), rand.Uint32())
}

// ValidRunID reports whether s has the shape NewRunID gives. Names that do
// not are never turned into paths.
func ValidRunID(s string) bool {
	if len(s) != 19 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Registry is one registry directory.
type Registry struct {
	dir string
}

// Dir returns the registry directory: $CLAUDE_GUARD_HOME, else the
// platform's state directory.
func Dir() (string, error) {
	if d := os.Getenv("CLAUDE_GUARD_HOME"); d != "" {
		return filepath.Abs(d)
	}
	return defaultDir()
}

// Open opens the registry at dir, creating it with mode 0700 (never inside
// a directory of another user's). A directory that is a symlink, owned by
// another user or writable by others, or reached through a part of its path
// someone else could swap, is refused; so is one that holds files that are
// not the registry's (ErrNotRegistry), and nothing in it is touched.
func Open(dir string) (*Registry, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	if err := checkPath(dir); err != nil {
		return nil, err
	}
	if err := claim(dir); err != nil {
		return nil, err
	}
	return &Registry{dir: dir}, nil
}

// Path returns the registry directory.
func (r *Registry) Path() string { return r.dir }

func (r *Registry) entryPath(id string) string { return filepath.Join(r.dir, id+".json") }
func (r *Registry) lockPath(id string) string  { return filepath.Join(r.dir, id+".lock") }

// Handle is a held run lock.
type Handle struct {
	r     *Registry
	id    string
	lock  *os.File
	fresh bool // made by Create, its entry not written yet
}

// Create makes the lock of a new run and holds it. The lock file appears
// under its final name already locked, so no reaper ever sees it free.
func (r *Registry) Create(id string) (*Handle, error) {
	if !ValidRunID(id) {
		return nil, fmt.Errorf("pidfile: bad run id %q", id)
	}
	f, err := createTemp(r.dir, "."+id+".*.lock")
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	if err := lockFile(f, true); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("pidfile: lock %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), r.lockPath(id)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	return &Handle{r: r, id: id, lock: f, fresh: true}, nil
}

// TryLock takes the lock of run id if its guard is gone. ErrLive: it is
// not; ErrGone: the run's files are gone.
func (r *Registry) TryLock(id string) (*Handle, error) { return r.takeLock(id, false) }

// WaitLock blocks until the lock of run id can be taken.
func (r *Registry) WaitLock(id string) (*Handle, error) { return r.takeLock(id, true) }

func (r *Registry) takeLock(id string, wait bool) (*Handle, error) {
	if !ValidRunID(id) {
		return nil, fmt.Errorf("pidfile: bad run id %q", id)
	}
	f, err := openPrivate(r.lockPath(id))
	var bf *BadFileError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, ErrGone
	case errors.As(err, &bf):
		// A FIFO, directory or symlink under the lock's name locks nothing:
		// it is moved aside, and the run is left with its entry alone.
		r.quarantine(id+".lock", bf.Err)
		return nil, ErrGone
	case err != nil:
		return nil, err
	}
	if err := lockFile(f, wait); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, ErrLive
		}
		return nil, fmt.Errorf("pidfile: lock %s: %w", f.Name(), err)
	}
	// The file may have been removed by the holder just before it let go.
	if !sameFile(f, r.lockPath(id)) {
		f.Close()
		return nil, ErrGone
	}
	return &Handle{r: r, id: id, lock: f}, nil
}

// Relock makes a new lock for run id, whose entry is there but whose lock
// file is not (removed, or quarantined as a FIFO or a symlink), and holds it.
// The caller has made sure the run's guard is gone: without a lock file its
// lock says nothing. Of two callers one wins; the other gets ErrLive.
func (r *Registry) Relock(id string) (*Handle, error) {
	if !ValidRunID(id) {
		return nil, fmt.Errorf("pidfile: bad run id %q", id)
	}
	f, err := createTemp(r.dir, "."+id+".*.lock")
	if err != nil {
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	defer os.Remove(f.Name())
	if err := lockFile(f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("pidfile: lock %s: %w", f.Name(), err)
	}
	// A link, not a rename: it never replaces a lock file that appeared.
	if err := os.Link(f.Name(), r.lockPath(id)); err != nil {
		f.Close()
		if errors.Is(err, os.ErrExist) {
			return nil, ErrLive
		}
		return nil, fmt.Errorf("pidfile: %w", err)
	}
	return &Handle{r: r, id: id, lock: f}, nil
}

// Live reports whether run id's lock is held by someone, without keeping it.
func (r *Registry) Live(id string) bool {
	h, err := r.TryLock(id)
	if err != nil {
		return errors.Is(err, ErrLive)
	}
	h.lock.Close()
	return false
}

// ID returns the run id the handle locks.
func (h *Handle) ID() string { return h.id }

// Write records e (atomically: temp file, then rename).
func (h *Handle) Write(e *Entry) error { return h.write(e, false) }

// WriteDurable records e and waits until it is on disk (file and directory
// synced), for --strict: its command starts only once the run is recorded
// for good.
func (h *Handle) WriteDurable(e *Entry) error { return h.write(e, true) }

func (h *Handle) write(e *Entry, durable bool) error {
	e.Schema, e.RunID = Schema, h.id
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	fresh := h.fresh
	h.fresh = false
	if fresh && !durable && linkEntry(h.lock, b, h.r.lockPath(h.id), h.r.entryPath(h.id)) == nil {
		return nil
	}
	f, err := os.CreateTemp(h.r.dir, "."+h.id+".*.tmp")
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replaceFile(f.Name(), h.r.entryPath(h.id))
	}
	if err == nil && durable {
		err = syncDir(h.r.dir)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("pidfile: write entry %s: %w", h.id, err)
	}
	return nil
}

// Remove deletes the run's entry and lock file, then lets go of the lock.
func (h *Handle) Remove() error {
	err := os.Remove(h.r.entryPath(h.id))
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if lerr := removeLock(h.r.lockPath(h.id)); lerr != nil && !errors.Is(lerr, os.ErrNotExist) && err == nil {
		err = lerr
	}
	h.Close()
	if err != nil {
		return fmt.Errorf("pidfile: remove run %s: %w", h.id, err)
	}
	return nil
}

// HandOff removes the run's entry and lets go of the lock, but leaves the lock
// file: whoever takes the lock next (the run's watchdog) finds a run with
// only its id left, to sweep for its cookie and then Remove.
func (h *Handle) HandOff() error {
	err := os.Remove(h.r.entryPath(h.id))
	h.Close()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pidfile: remove run %s: %w", h.id, err)
	}
	return nil
}

// Close lets go of the lock and leaves the files.
func (h *Handle) Close() { h.lock.Close() }

// Read returns the entry of run id.
func (r *Registry) Read(id string) (Entry, error) { return r.read(id, nil) }

// read is Read, reading the file into buf when it has room.
func (r *Registry) read(id string, buf *[]byte) (Entry, error) {
	if !ValidRunID(id) {
		return Entry{}, fmt.Errorf("pidfile: bad run id %q", id)
	}
	path := r.entryPath(id)
	var into []byte
	if buf != nil {
		into = *buf
	}
	b, err := readPrivate(path, maxEntrySize, into)
	if buf != nil && cap(b) <= 64<<10 {
		*buf = b // kept for the next read, unless an outsize file grew it
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Entry{}, ErrGone
		}
		return Entry{}, err
	}
	if len(b) > maxEntrySize {
		return Entry{}, &BadFileError{Path: path, Err: errors.New("entry too large")}
	}
	e, err := Decode(b, id)
	var se *SchemaError
	if errors.As(err, &se) {
		return Entry{}, fmt.Errorf("pidfile: %s: %w", path, err)
	}
	if err != nil {
		return Entry{}, &BadFileError{Path: path, Err: err}
	}
	return e, nil
}

// BadFileError reports a registry file that is not a valid entry. List moves
// such files aside into the quarantine folder.
type BadFileError struct {
	Path string
	Err  error
}

func (e *BadFileError) Error() string {
	return fmt.Sprintf("pidfile: %s: %v", e.Path, e.Err)
}

func (e *BadFileError) Unwrap() error { return e.Err }

// Listed is one run as List finds it. A run whose lock exists but whose entry
// was not written yet (its guard died while starting) has only RunID set.
type Listed struct {
	Entry
	Live bool
	// NoLock: the entry is there but its lock file is not, so the lock says
	// nothing about its guard (see Relock).
	NoLock bool
	// Unknown: the entry is of a newer schema (Entry.Schema), unreadable
	// here; only RunID and Schema are set. It is never quarantined.
	Unknown bool
}

// List returns every run in the registry, oldest first. Files named like
// the registry's that are not valid entries or locks are moved into the
// quarantine folder and reported in bad, unless their run is live; they
// never stop the listing. Files with other names are left alone (see
// Strangers). An entry recorded in another boot than boot
// (when given) is not live, and its lock is not probed: no lock outlives a
// reboot.
func (r *Registry) List(boot string) (runs []Listed, bad []error) {
	d, err := os.Open(r.dir)
	if err != nil {
		return nil, []error{fmt.Errorf("pidfile: %w", err)}
	}
	names, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, []error{fmt.Errorf("pidfile: read %s: %w", r.dir, err)}
	}
	// ids[id] says the run's lock was listed as a regular file: the
	// directory's own file types spare an lstat per run (checkLock).
	ids := map[string]bool{}
	for _, de := range names {
		if id, ext, _ := strings.Cut(de.Name(), "."); ValidRunID(id) && (ext == "json" || ext == "lock") {
			ids[id] = ids[id] || ext == "lock" && de.Type().IsRegular()
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	// Entries are read by a few workers: with thousands of them the time
	// goes to opening files, which overlaps well.
	runs = make([]Listed, len(sorted))
	ok := make([]bool, len(sorted))
	errs := make([]error, len(sorted))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(4, len(sorted)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := int(next.Add(1) - 1); i < len(sorted); i = int(next.Add(1) - 1) {
				runs[i], ok[i], errs[i] = r.listOne(sorted[i], boot, ids[sorted[i]], &buf)
			}
		}()
	}
	wg.Wait()
	// In place: the runs that are, in order, and the errors.
	n := 0
	for i := range runs {
		if errs[i] != nil {
			bad = append(bad, errs[i])
		}
		if ok[i] {
			runs[n] = runs[i]
			n++
		}
	}
	clear(runs[n:])
	return runs[:n], bad
}

// listOne reads one run for List: ok is false for a run that ended, or a
// bad file (then err says where it was moved). lockListed: the directory
// listing showed the run's lock as a regular file, so checkLock has nothing
// to look at. buf is the worker's read buffer.
func (r *Registry) listOne(id, boot string, lockListed bool, buf *[]byte) (Listed, bool, error) {
	hasLock, lockErr := true, error(nil)
	if !lockListed {
		hasLock, lockErr = r.checkLock(id)
	}
	e, err := r.read(id, buf)
	var bf *BadFileError
	var se *SchemaError
	switch {
	case errors.As(err, &se):
		return Listed{Entry: Entry{RunID: id, Schema: se.Version}, Unknown: true, Live: r.Live(id)}, true, lockErr
	case errors.As(err, &bf):
		return Listed{}, false, errors.Join(lockErr, r.quarantineEntry(id, bf.Err))
	case errors.Is(err, ErrGone):
		if _, lerr := os.Lstat(r.lockPath(id)); lerr != nil {
			return Listed{}, false, lockErr // ended between the listing and now
		}
		e = Entry{RunID: id}
	case err != nil:
		return Listed{}, false, errors.Join(lockErr, err)
	}
	if boot != "" && e.BootID != "" && e.BootID != boot {
		// The lock was looked at just before the read: no second look,
		// since NoLock only matters for a run of this boot.
		return Listed{Entry: e, NoLock: !hasLock}, true, lockErr
	}
	l := Listed{Entry: e, Live: r.Live(id)}
	if !l.Live && e.PID != 0 {
		// A guard ending cleanly removes its entry, then lets go of its
		// lock: read before and probed after, it is no stale run.
		if _, err := os.Lstat(r.entryPath(id)); errors.Is(err, os.ErrNotExist) {
			return Listed{}, false, lockErr
		}
	}
	l.NoLock = !l.Live && !r.hasLock(id)
	return l, true, lockErr
}

func (r *Registry) hasLock(id string) bool {
	_, err := os.Lstat(r.lockPath(id))
	return err == nil
}

// checkLock quarantines a lock file that is not a regular file (a FIFO, a
// directory, a symlink): it locks nothing, and its run is then one with an
// entry and no lock. ok says a regular lock file is there.
func (r *Registry) checkLock(id string) (ok bool, err error) {
	fi, err := os.Lstat(r.lockPath(id))
	if err != nil {
		return false, nil
	}
	if fi.Mode().IsRegular() {
		return true, nil
	}
	return false, r.quarantine(id+".lock", fmt.Errorf("lock is not a regular file (%v)", fi.Mode().Type()))
}

// quarantineEntry moves aside the unreadable entry of run id, under the
// run's lock: a live run's entry is never moved, whatever it holds.
func (r *Registry) quarantineEntry(id string, why error) error {
	h, err := r.TryLock(id)
	switch {
	case errors.Is(err, ErrLive):
		return fmt.Errorf("pidfile: %s: %v; left in place: its run is live", r.entryPath(id), why)
	case err == nil:
		defer h.Close()
	case !errors.Is(err, ErrGone):
		return fmt.Errorf("pidfile: %s: %v; left in place: %v", r.entryPath(id), why, err)
	}
	return r.quarantine(id+".json", why)
}

const quarantineDir = "quarantine"

// SweepLock blocks until it holds the registry's sweep lock (a lock on the
// directory itself, so no file is left behind); release lets go of it. The
// kernel lets go of it too when its holder dies. Not on Windows.
func (r *Registry) SweepLock() (release func(), err error) {
	f, err := lockDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("pidfile: sweep lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// HasLock reports whether run id's lock file is still there: the run has not
// been reaped or removed.
func (r *Registry) HasLock(id string) bool {
	if !ValidRunID(id) {
		return false
	}
	_, err := os.Lstat(r.lockPath(id))
	return err == nil
}

// QuarantineEntry moves run id's entry, found to be no valid entry, aside
// (as List does) and says where to.
func (r *Registry) QuarantineEntry(id string, why error) error {
	if !ValidRunID(id) {
		return fmt.Errorf("pidfile: bad run id %q", id)
	}
	return r.quarantine(id+".json", why)
}

// EachLock calls fn with batches of the run ids whose lock file is in the
// registry, reading the directory a batch at a time, so a registry of any
// size is walked in little memory. fn returns false to stop. Every run has
// a lock file for as long as it has an entry.
func (r *Registry) EachLock(batch int, fn func(ids []string) bool) error {
	d, err := os.Open(r.dir)
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(batch)
		var ids []string
		for _, n := range names {
			if id, ok := strings.CutSuffix(n, ".lock"); ok && ValidRunID(id) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 && !fn(ids) {
			return nil
		}
		if err == io.EOF || (err == nil && len(names) == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pidfile: read %s: %w", r.dir, err)
		}
	}
}

// quarantine moves a bad file aside so it is reported once, not on every
// listing, and can still be looked at.
func (r *Registry) quarantine(name string, why error) error {
	if !Ours(name) {
		return fmt.Errorf("pidfile: %s: %v; left in place: not a name of the registry's", filepath.Join(r.dir, name), why)
	}
	qdir := filepath.Join(r.dir, quarantineDir)
	if err := os.Mkdir(qdir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pidfile: %s: %v (could not quarantine: %v)", filepath.Join(r.dir, name), why, err)
	}
	// A quarantine that is a symlink (or not the caller's) is never
	// followed: the file stays where it is.
	if err := checkDir(qdir); err != nil {
		return fmt.Errorf("pidfile: %s: %v; left in place (%v)", filepath.Join(r.dir, name), why, err)
	}
	dst := filepath.Join(qdir, name+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	r.Audit(Event{Event: EventQuarantine, Path: filepath.Join(r.dir, name), Why: why.Error()})
	if err := os.Rename(filepath.Join(r.dir, name), dst); err != nil {
		return fmt.Errorf("pidfile: %s: %v (could not quarantine: %v)", filepath.Join(r.dir, name), why, err)
	}
	return &QuarantinedError{Path: filepath.Join(r.dir, name), Err: why, To: dst}
}

// QuarantinedError reports a bad registry file that was moved aside: said
// once, nothing left to fix in the registry.
type QuarantinedError struct {
	Path, To string
	Err      error
}

func (e *QuarantinedError) Error() string {
	return fmt.Sprintf("pidfile: %s: %v; moved to %s", e.Path, e.Err, e.To)
}

func (e *QuarantinedError) Unwrap() error { return e.Err }

// Quarantined counts the files in the quarantine folder.
func (r *Registry) Quarantined() int {
	if r.QuarantineErr() != nil {
		return 0
	}
	names, _ := os.ReadDir(filepath.Join(r.dir, quarantineDir))
	return len(names)
}
