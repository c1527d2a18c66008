package pidfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The audit log: one JSON line per thing claude-guard did to a process or a
// registry file, in the registry directory, capped at AuditMax bytes (the
// older half kept as audit.log.1). Writing it never fails a caller: a full
// disk or a read-only log costs the line, never a launch or a reap.

// AuditFile is the audit log's name in the registry directory.
const AuditFile = "audit.log"

// AuditMax is the size past which the log is rotated to AuditFile+".1".
const AuditMax = 1 << 20

// Event kinds.
const (
	EventReap       = "reap"       // a stale run (or an unguarded tree) ended by reap
	EventWatchdog   = "watchdog"   // a run ended by its watchdog after the guard died
	EventKill       = "kill"       // a run ended by claude-guard kill
	EventSIGKILL    = "sigkill"    // processes that outlived the grace period
	EventCleanup    = "cleanup"    // leftovers a guard ended after its command exited
	EventQuarantine = "quarantine" // a registry file refused and moved aside
	EventDaemon     = "daemon"     // what claude's background daemon left, ended after it
)

// Event is one line of the audit log.
type Event struct {
	Time      time.Time `json:"time"`
	Event     string    `json:"event"`
	RunID     string    `json:"run_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	Signal    string    `json:"signal,omitempty"` // what PIDs were sent
	PIDs      []int     `json:"pids,omitempty"`
	Left      []int     `json:"left,omitempty"` // survived SIGKILL
	Path      string    `json:"path,omitempty"` // the quarantined file
	Why       string    `json:"why,omitempty"`
}

// Audit appends ev to the log in the registry directory.
func (r *Registry) Audit(ev Event) { Audit(r.dir, ev) }

// Audit appends ev to the log in dir. Errors are dropped on purpose: the log
// is for people reading it later, never a reason to stop.
func Audit(dir string, ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Millisecond)
	line, err := json.Marshal(ev)
	if err != nil {
		return
	}
	_ = appendLine(filepath.Join(dir, AuditFile), append(line, '\n'))
}

func appendLine(path string, line []byte) error {
	f, err := openAppend(path)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size()+int64(len(line)) > AuditMax {
		// Closed before the rename: Windows renames no file a handle
		// without delete sharing holds, this one's included.
		f.Close()
		// Rotate only the file we held: of two writers racing here, the
		// second finds a fresh file under the name and leaves it be.
		if cur, err := os.Lstat(path); err == nil && os.SameFile(fi, cur) {
			_ = os.Rename(path, path+".1")
		}
		if f, err = openAppend(path); err != nil {
			return err
		}
	}
	// One write call with O_APPEND: lines of concurrent writers never interleave.
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// AuditPath returns the log's path in dir.
func AuditPath(dir string) string { return filepath.Join(dir, AuditFile) }

// ReadAudit returns the last n lines of the log in dir (all when n <= 0),
// oldest first, across the rotated file and the current one. A missing log
// is empty.
func ReadAudit(dir string, n int) ([][]byte, error) {
	var lines [][]byte
	for _, p := range []string{AuditPath(dir) + ".1", AuditPath(dir)} {
		b, err := readLog(p)
		if err != nil {
			return nil, err
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
			}
		}
	}
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

func readLog(path string) ([]byte, error) {
	f, err := openPrivate(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 2*AuditMax))
}

// FollowAudit calls fn with the last n lines of the log in dir (all when
// n <= 0), then with each line appended after them, polling every interval,
// until ctx is done. A rotation is followed to the new file.
func FollowAudit(ctx context.Context, dir string, n int, interval time.Duration, fn func([]byte)) error {
	path := AuditPath(dir)
	old, err := readLog(path + ".1")
	if err != nil {
		return err
	}
	var backlog [][]byte
	for _, l := range bytes.Split(old, []byte("\n")) {
		if len(l) > 0 {
			backlog = append(backlog, l)
		}
	}
	var f *os.File
	var rd *bufio.Reader
	var partial []byte
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	// drain reads what f holds now; complete lines go to emit.
	drain := func(emit func([]byte)) {
		for {
			chunk, err := rd.ReadBytes('\n')
			partial = append(partial, chunk...)
			if err != nil {
				return
			}
			if l := bytes.TrimRight(partial, "\n"); len(l) > 0 {
				emit(l)
			}
			partial = nil
		}
	}
	open := func() bool {
		g, err := openPrivate(path)
		if err != nil {
			return false
		}
		f, rd, partial = g, bufio.NewReader(g), nil
		return true
	}
	if open() {
		drain(func(l []byte) { backlog = append(backlog, append([]byte(nil), l...)) })
	}
	if n > 0 && len(backlog) > n {
		backlog = backlog[len(backlog)-n:]
	}
	for _, l := range backlog {
		fn(l)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if f != nil || open() {
			drain(fn)
			// The name now names another file (rotated): the rest of
			// ours is read, go on with the new one from its start.
			fi, err1 := f.Stat()
			cur, err2 := os.Lstat(path)
			if err1 != nil || err2 != nil || !os.SameFile(fi, cur) {
				f.Close()
				f = nil
				if err2 == nil {
					continue
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
