package reaper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/claude-guard/claude-guard/pidfile"
)

// The doctor's findings that are reaper's to make: where the registry is and
// in what state, what this system offers to contain a run, and what leaked.
// Each problem comes with the command that fixes it. Which claude runs, and
// the text people read, are the command's (cmd_doctor.go).

// Report is the doctor's findings about the registry, containment, leaks
// and the environment. Which claude runs is the launcher's to say: the
// command adds it.
type Report struct {
	Registry    RegistryReport `json:"registry"`
	Containment []Mechanism    `json:"containment"`
	Orphans     []Row          `json:"orphans"`
	Env         []EnvVar       `json:"env"`
	Problems    []Problem      `json:"problems"`
}

// RegistryReport is the registry's location and health.
type RegistryReport struct {
	Path        string `json:"path"`
	Exists      bool   `json:"exists"`
	Mode        string `json:"mode,omitempty"`
	Error       string `json:"error,omitempty"`
	Running     int    `json:"running"`
	Stale       int    `json:"stale"`
	Quarantined int    `json:"quarantined"`
	// Strangers are files in the registry directory that are not the
	// registry's: never moved or removed, only reported.
	Strangers []string `json:"strangers,omitempty"`
	// Newer counts entries of a newer claude-guard's schema.
	Newer      int    `json:"newer"`
	AuditLog   string `json:"audit_log"`
	AuditBytes int64  `json:"audit_bytes"`
	// Watcher is the pid of the registry's watcher, 0 when none serves it
	// now (the next run starts one; where there can be none, each run has
	// a watchdog of its own).
	Watcher int `json:"watcher"`
}

// Mechanism is one way of containing a run, and whether this system has it.
type Mechanism struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Detail    string `json:"detail"`
}

// EnvVar is one environment variable claude-guard reads.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Set   bool   `json:"set"`
}

// Problem is something that needs fixing, and the command that fixes it.
type Problem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
}

// Doctor examines the setup, showing the environment variables named in env.
// It changes nothing but what listing the registry always does: bad files are
// moved into quarantine.
func Doctor(env []string) Report {
	rep := Report{Containment: containment(), Orphans: []Row{}, Problems: []Problem{}}
	reg := rep.checkRegistry()
	rep.checkOrphans(reg)
	for _, name := range env {
		v, ok := os.LookupEnv(name)
		rep.Env = append(rep.Env, EnvVar{Name: name, Value: v, Set: ok})
	}
	if _, err := EnvGrace(); err != nil {
		rep.problem(fmt.Sprintf("%s=%q: %v; the default %v is used", GraceEnv, os.Getenv(GraceEnv), err, DefaultGrace),
			"export CLAUDE_GUARD_GRACE=2s")
	}
	return rep
}

func (r *Report) problem(what, fix string) {
	r.Problems = append(r.Problems, Problem{What: what, Fix: fix})
}

func (r *Report) checkRegistry() *pidfile.Registry {
	dir, err := pidfile.Dir()
	if err != nil {
		r.Registry.Error = err.Error()
		r.problem(err.Error(), "export CLAUDE_GUARD_HOME=$HOME/.local/state/claude-guard")
		return nil
	}
	r.Registry.Path, r.Registry.AuditLog = dir, pidfile.AuditPath(dir)
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // made by the first run
	}
	r.Registry.Exists = err == nil
	if err == nil {
		r.Registry.Mode = fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	reg, err := pidfile.Open(dir)
	if err != nil {
		r.Registry.Error = err.Error()
		fix := "export CLAUDE_GUARD_HOME=/a/directory/of/yours  (mode 700)"
		switch {
		case errors.Is(err, pidfile.ErrNotRegistry):
			fix = "export CLAUDE_GUARD_HOME=$HOME/.local/state/claude-guard  (a directory of its own; nothing in " + dir + " was touched)"
		case fi != nil && fi.Mode()&os.ModeSymlink != 0:
			fix = "rm " + dir + "  (a symlink; or point CLAUDE_GUARD_HOME at a real directory)"
		case fi != nil && fi.Mode().Perm()&0o022 != 0:
			fix = "chmod 700 " + dir
		}
		r.problem("registry unusable, runs go unrecorded: "+err.Error(), fix)
		return nil
	}
	if ai, err := os.Lstat(r.Registry.AuditLog); err == nil {
		r.Registry.AuditBytes = ai.Size()
	}
	if conn, p, err := reg.DialWatcher(); err == nil {
		conn.Close() // registers nothing: the watcher only takes a look for stale runs
		r.Registry.Watcher = p.PID
	}
	return reg
}

func (r *Report) checkOrphans(reg *pidfile.Registry) {
	var rows []Row
	if reg != nil {
		var errs []error
		rows, errs = Rows(reg, true)
		for _, err := range errs {
			var bf *pidfile.BadFileError
			var qe *pidfile.QuarantinedError
			if !errors.As(err, &bf) && !errors.As(err, &qe) {
				r.problem("registry: "+err.Error(), "claude-guard doctor  (again, once the cause is fixed)")
			}
		}
		r.Registry.Quarantined = reg.Quarantined()
		if err := reg.QuarantineErr(); err != nil {
			q := filepath.Join(reg.Path(), "quarantine")
			r.problem("bad registry files stay in place: "+err.Error(), "rm "+q+"  (it is not a directory of yours; claude-guard makes a new one)")
		}
		if r.Registry.Strangers = reg.Strangers(); len(r.Registry.Strangers) > 0 {
			n := len(r.Registry.Strangers)
			r.problem(fmt.Sprintf("%s in the registry directory %s %s not claude-guard's; left alone: %s",
				count(n, "file", "files"), reg.Path(), verb(n, "is", "are"), strings.Join(r.Registry.Strangers, ", ")),
				"move them elsewhere (claude-guard never touches them)")
		}
		if n := r.Registry.Quarantined; n > 0 {
			q := filepath.Join(reg.Path(), "quarantine")
			r.problem(fmt.Sprintf("%s moved aside into %s (see claude-guard log)", count(n, "bad registry file was", "bad registry files were"), q),
				"rm -r "+q+"  (after a look)")
		}
	} else if s, err := TakeSnapshot(); err == nil {
		rows = unguarded(s)
	}
	for _, row := range rows {
		switch row.State {
		case StateRunning:
			r.Registry.Running++
		case StateStale:
			r.Registry.Stale++
		case StateUnknown:
			r.Registry.Newer++
		case StateOrphaned:
			r.Orphans = append(r.Orphans, row)
			r.problem(fmt.Sprintf("leaked claude no guard launched: session %s, pid %d, %s (%s)",
				row.SessionID, row.PID, count(row.Processes, "process", "processes"), strings.Join(row.Argv, " ")),
				"claude-guard reap --unguarded  (preview: claude-guard reap --unguarded --dry-run)")
		}
	}
	if n := r.Registry.Newer; n > 0 {
		r.problem(count(n, "run was", "runs were")+" recorded by a newer claude-guard than this one: an old copy runs somewhere (a copied shim?)",
			"claude-guard install-shim --uninstall DIR && claude-guard install-shim DIR  (with the newer claude-guard)")
	}
	if n := r.Registry.Stale; n > 0 {
		r.problem(count(n, "run whose guard is gone is", "runs whose guard is gone are")+" not reaped yet", "claude-guard reap")
	}
}

// count is "1 run", "2 runs".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// verb agrees with a count: "is" for 1, "are" otherwise.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
