// Package pidfile is the on-disk registry of guarded runs: one JSON entry per
// run, written atomically, and one lock file per run that the run's guard holds
// for its whole life. A lock that can be taken means the guard is gone. The
// package knows nothing of what runs do or how they end.
package pidfile

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// Decode parses and checks one entry. name is the run id the file is named by.
func Decode(data []byte, name string) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil { // trailing data is an error too
		return Entry{}, fmt.Errorf("not a claude-guard entry: %w", err)
	}
	switch {
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

// NewRunID returns a run id that is unique and sorts by start time:
// 11 hex digits of Unix milliseconds, then 8 random hex digits.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%011x%x", time.Now().UnixMilli(), b)
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

// Open opens the registry at dir, creating it with mode 0700. A directory
// that is a symlink, owned by another user or writable by others is refused.
func Open(dir string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pidfile: create %s: %w", dir, err)
	}
	if err := checkDir(dir); err != nil {
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
	r    *Registry
	id   string
	lock *os.File
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
	return &Handle{r: r, id: id, lock: f}, nil
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
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrGone
		}
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
func (h *Handle) Write(e *Entry) error {
	e.Schema, e.RunID = Schema, h.id
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	f, err := os.CreateTemp(h.r.dir, "."+h.id+".*.tmp")
	if err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), h.r.entryPath(h.id))
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
	if lerr := os.Remove(h.r.lockPath(h.id)); lerr != nil && !errors.Is(lerr, os.ErrNotExist) && err == nil {
		err = lerr
	}
	h.Close()
	if err != nil {
		return fmt.Errorf("pidfile: remove run %s: %w", h.id, err)
	}
	return nil
}

// Hand removes the run's entry and lets go of the lock, but leaves the lock
// file: whoever takes the lock next (the run's watchdog) finds a run with
// only its id left, to sweep for its cookie and then Remove.
func (h *Handle) Hand() error {
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
func (r *Registry) Read(id string) (Entry, error) {
	if !ValidRunID(id) {
		return Entry{}, fmt.Errorf("pidfile: bad run id %q", id)
	}
	f, err := openPrivate(r.entryPath(id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Entry{}, ErrGone
		}
		return Entry{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEntrySize+1))
	if err != nil {
		return Entry{}, fmt.Errorf("pidfile: read %s: %w", f.Name(), err)
	}
	if len(b) > maxEntrySize {
		return Entry{}, &BadFileError{Path: f.Name(), Err: errors.New("entry too large")}
	}
	e, err := Decode(b, id)
	if err != nil {
		return Entry{}, &BadFileError{Path: f.Name(), Err: err}
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
}

// List returns every run in the registry, oldest first. Files that are not
// valid entries are moved into the quarantine folder and reported in bad;
// they never stop the listing. An entry recorded in another boot than boot
// (when given) is not live, and its lock is not probed: no lock outlives a
// reboot.
func (r *Registry) List(boot string) (runs []Listed, bad []error) {
	d, err := os.Open(r.dir)
	if err != nil {
		return nil, []error{fmt.Errorf("pidfile: %w", err)}
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, []error{fmt.Errorf("pidfile: read %s: %w", r.dir, err)}
	}
	ids := map[string]bool{}
	for _, n := range names {
		if strings.HasPrefix(n, ".") || n == quarantineDir || n == AuditFile || n == AuditFile+".1" {
			continue
		}
		id, ext, _ := strings.Cut(n, ".")
		if !ValidRunID(id) || (ext != "json" && ext != "lock") {
			bad = append(bad, r.quarantine(n, errors.New("not a claude-guard file")))
			continue
		}
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	// Entries are read by a few workers: with thousands of them the time
	// goes to opening files, which overlaps well.
	type slot struct {
		run Listed
		ok  bool
		err error
	}
	slots := make([]slot, len(sorted))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(4, len(sorted)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(sorted); i = int(next.Add(1) - 1) {
				slots[i].run, slots[i].ok, slots[i].err = r.listOne(sorted[i], boot)
			}
		}()
	}
	wg.Wait()
	for _, sl := range slots {
		if sl.err != nil {
			bad = append(bad, sl.err)
		}
		if sl.ok {
			runs = append(runs, sl.run)
		}
	}
	return runs, bad
}

// listOne reads one run for List: ok is false for a run that ended, or a
// bad file (then err says where it was moved).
func (r *Registry) listOne(id, boot string) (Listed, bool, error) {
	e, err := r.Read(id)
	var bf *BadFileError
	switch {
	case errors.As(err, &bf):
		return Listed{}, false, r.quarantine(id+".json", bf.Err)
	case errors.Is(err, ErrGone):
		if _, lerr := os.Lstat(r.lockPath(id)); lerr != nil {
			return Listed{}, false, nil // ended between the listing and now
		}
		e = Entry{RunID: id}
	case err != nil:
		return Listed{}, false, err
	}
	if boot != "" && e.BootID != "" && e.BootID != boot {
		return Listed{Entry: e}, true, nil
	}
	return Listed{Entry: e, Live: r.Live(id)}, true, nil
}

const quarantineDir = "quarantine"

// quarantine moves a bad file aside so it is reported once, not on every
// listing, and can still be looked at.
func (r *Registry) quarantine(name string, why error) error {
	qdir := filepath.Join(r.dir, quarantineDir)
	if err := os.Mkdir(qdir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pidfile: %s: %v (could not quarantine: %v)", filepath.Join(r.dir, name), why, err)
	}
	dst := filepath.Join(qdir, name+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
	r.Audit(Event{Event: EventQuarantine, Path: filepath.Join(r.dir, name), Why: why.Error()})
	if err := os.Rename(filepath.Join(r.dir, name), dst); err != nil {
		return fmt.Errorf("pidfile: %s: %v (could not quarantine: %v)", filepath.Join(r.dir, name), why, err)
	}
	return fmt.Errorf("pidfile: %s: %v; moved to %s", filepath.Join(r.dir, name), why, dst)
}

// Quarantined counts the files in the quarantine folder.
func (r *Registry) Quarantined() int {
	names, _ := os.ReadDir(filepath.Join(r.dir, quarantineDir))
	return len(names)
}
