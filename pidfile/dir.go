package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// The registry only ever handles its own files, inside a directory it made
// or marked as its own. A directory is a registry when it holds MarkerFile;
// an unmarked one is taken only while it is empty or holds nothing but files
// named the way the registry names its own (a registry made before the
// marker existed). Anything else — ~/.claude, $HOME, / — is refused with an
// error and left exactly as it was.

// MarkerFile is the file that marks a directory as a claude-guard registry.
const MarkerFile = ".claude-guard-registry"

const markerText = "This directory is claude-guard's registry of guarded runs.\n" +
	"claude-guard creates, moves and removes only files named like its own here.\n"

// ErrNotRegistry reports a directory that holds files that are not the
// registry's: it is never used, so nothing in it is touched.
var ErrNotRegistry = errors.New("not a claude-guard registry")

// Ours reports whether name is a name the registry gives its own files:
// RUNID.json, RUNID.lock, their temporary .RUNID.*.tmp and .RUNID.*.lock,
// the audit log and its rotations, the quarantine folder, the marker, and
// the watchers' locks and socket.
// Only such files are ever created, moved or removed.
func Ours(name string) bool {
	switch {
	case name == MarkerFile, name == quarantineDir, strings.HasPrefix(name, AuditFile),
		name == watcherLock, name == WatcherSocket:
		return true
	}
	if isWatchLock(name) {
		return true
	}
	if rest, ok := strings.CutPrefix(name, "."); ok {
		id, tail, ok := strings.Cut(rest, ".")
		return ok && ValidRunID(id) && !strings.ContainsRune(tail, '/') &&
			(strings.HasSuffix(tail, ".tmp") || strings.HasSuffix(tail, ".lock"))
	}
	id, ext, _ := strings.Cut(name, ".")
	return ValidRunID(id) && (ext == "json" || ext == "lock")
}

// makeDir creates dir and whatever parents it lacks, mode 0700, but only
// inside a directory owned by the caller or by root: never inside another
// user's home (root under sudo -E included).
func makeDir(dir string) error {
	var missing []string
	p := dir
	for {
		_, err := os.Lstat(p)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pidfile: %w", err)
		}
		missing = append(missing, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	if len(missing) == 0 {
		return nil
	}
	if err := mayCreateIn(p); err != nil {
		return fmt.Errorf("pidfile: will not create %s: %w (set CLAUDE_GUARD_HOME to a directory of yours)", dir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("pidfile: create %s: %w", missing[i], err)
		}
	}
	return nil
}

// claim makes sure dir is marked as a registry, marking it if it is empty or
// holds only the registry's own files. Checked on every Open: a marker is
// one lstat.
func claim(dir string) error {
	marker := filepath.Join(dir, MarkerFile)
	fi, err := os.Lstat(marker)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return nil
	case err == nil:
		return fmt.Errorf("pidfile: %s is not a regular file; refusing the registry %s (remove it)", marker, dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("pidfile: %w", err)
	}
	if strangers := strangers(dir, 3); len(strangers) > 0 {
		return fmt.Errorf("pidfile: %s: %w: it holds files that are not claude-guard's (%s); nothing in it was touched (point CLAUDE_GUARD_HOME at a new or empty directory)",
			dir, ErrNotRegistry, strings.Join(strangers, ", "))
	}
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil // marked meanwhile by another guard
	}
	if err != nil {
		return fmt.Errorf("pidfile: mark %s as the registry: %w", dir, err)
	}
	_, err = f.WriteString(markerText)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pidfile: mark %s as the registry: %w", dir, err)
	}
	return nil
}

// strangers returns up to max names in dir (all with max < 0) that are not
// the registry's, sorted; "…" ends a list that was cut.
func strangers(dir string, max int) []string {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []string
	for _, n := range names {
		if !Ours(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if max >= 0 && len(out) > max {
		out = append(out[:max], "…")
	}
	return out
}

// Strangers lists the files in the registry directory that are not the
// registry's. They are never moved or removed, only reported (doctor).
func (r *Registry) Strangers() []string { return strangers(r.dir, -1) }

// QuarantineErr reports a quarantine folder that cannot be used safely (a
// symlink, not a directory, not yours): bad files then stay where they are.
func (r *Registry) QuarantineErr() error {
	q := filepath.Join(r.dir, quarantineDir)
	if _, err := os.Lstat(q); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return checkDir(q)
}

// syncDir flushes dir's entries (a rename into it) to disk. Windows has no
// directory handle to sync: there it is a no-op.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
