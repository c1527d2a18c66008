package reaper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/claude-guard/claude-guard/pidfile"
)

// The doctor: what claude-guard would run, where it keeps its registry and
// in what state, what this system offers to contain a run, and what leaked.
// Each problem comes with the command that fixes it.

// DoctorInput is what the caller knows that reaper cannot look up itself
// (reaper sits below the launcher).
type DoctorInput struct {
	RealClaude string        // the claude the guard would run
	ClaudeErr  error         // why none was found
	OnPath     []ClaudeFound // every claude on PATH, in PATH order
	Env        []string      // names of the environment variables to show
	Active     Active        // the containment a run gets, as the launcher decides it
}

// Active is the containment a run started now gets, and why: the launcher's
// own answer (launcher.Containment), not a second guess of the doctor's.
type Active struct {
	Cgroup bool   `json:"cgroup"`
	Mode   string `json:"mode"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// ClaudeFound is one claude on PATH.
type ClaudeFound struct {
	Path  string `json:"path"`
	Guard bool   `json:"guard"` // claude-guard's shim, not the real claude
}

// Report is the doctor's findings.
type Report struct {
	Claude      ClaudeReport   `json:"claude"`
	Registry    RegistryReport `json:"registry"`
	Containment []Mechanism    `json:"containment"`
	Active      Active         `json:"active"`
	Orphans     []Row          `json:"orphans"`
	Env         []EnvVar       `json:"env"`
	Problems    []Problem      `json:"problems"`
}

// ClaudeReport says what the command claude runs.
type ClaudeReport struct {
	Real   string        `json:"real,omitempty"`
	Error  string        `json:"error,omitempty"`
	OnPath []ClaudeFound `json:"on_path"`
	Shim   string        `json:"shim,omitempty"` // the shim that runs when claude is typed, if one does
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

// Doctor examines the setup. It changes nothing but what listing the
// registry always does: bad files are moved into quarantine.
func Doctor(in DoctorInput) Report {
	rep := Report{Containment: containment(), Active: in.Active, Orphans: []Row{}, Problems: []Problem{}}
	for i, m := range rep.Containment {
		if m.Name == "cgroup v2" && in.Active.Mode != "" {
			rep.Containment[i] = Mechanism{Name: m.Name, Available: in.Active.Cgroup, Detail: in.Active.Detail}
		}
	}
	rep.checkClaude(in)
	reg := rep.checkRegistry()
	rep.checkOrphans(reg)
	for _, name := range in.Env {
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

func (r *Report) checkClaude(in DoctorInput) {
	r.Claude = ClaudeReport{Real: in.RealClaude, OnPath: in.OnPath}
	if r.Claude.OnPath == nil {
		r.Claude.OnPath = []ClaudeFound{}
	}
	if in.ClaudeErr != nil {
		r.Claude.Error = in.ClaudeErr.Error()
		r.problem("no real claude to run: "+in.ClaudeErr.Error(),
			"npm install -g @anthropic-ai/claude-code  (or: export CLAUDE_GUARD_CLAUDE=/path/to/claude)")
	}
	var real string
	for _, c := range in.OnPath {
		switch {
		case c.Guard && real == "" && r.Claude.Shim == "":
			r.Claude.Shim = c.Path
		case c.Guard && real != "":
			r.problem(fmt.Sprintf("the shim %s comes after the real claude %s on PATH, so it never runs", c.Path, real),
				fmt.Sprintf(`export PATH="%s:$PATH"  (in your shell's profile)`, filepath.Dir(c.Path)))
		case !c.Guard && real == "":
			real = c.Path
		}
	}
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
	return reg
}

func (r *Report) checkOrphans(reg *pidfile.Registry) {
	var rows []Row
	if reg != nil {
		var errs []error
		rows, errs = Rows(reg, true)
		for _, err := range errs {
			var bf *pidfile.BadFileError
			if !errors.As(err, &bf) && !strings.Contains(err.Error(), "moved to") {
				r.problem("registry: "+err.Error(), "claude-guard doctor  (again, once the cause is fixed)")
			}
		}
		r.Registry.Quarantined = reg.Quarantined()
		if err := reg.QuarantineErr(); err != nil {
			q := filepath.Join(reg.Path(), "quarantine")
			r.problem("bad registry files stay in place: "+err.Error(), "rm "+q+"  (it is not a directory of yours; claude-guard makes a new one)")
		}
		if r.Registry.Strangers = reg.Strangers(); len(r.Registry.Strangers) > 0 {
			r.problem(fmt.Sprintf("%d files in the registry directory %s are not claude-guard's; left alone: %s",
				len(r.Registry.Strangers), reg.Path(), strings.Join(r.Registry.Strangers, ", ")),
				"move them elsewhere (claude-guard never touches them)")
		}
		if n := r.Registry.Quarantined; n > 0 {
			q := filepath.Join(reg.Path(), "quarantine")
			r.problem(fmt.Sprintf("%d bad registry files were moved aside into %s (see claude-guard log)", n, q),
				"rm -r "+q+"  (after a look)")
		}
	} else if s, err := Take(); err == nil {
		rows = unguarded(s)
	}
	for _, row := range rows {
		switch row.State {
		case "running":
			r.Registry.Running++
		case "stale":
			r.Registry.Stale++
		case "unknown":
			r.Registry.Newer++
		case "orphaned":
			r.Orphans = append(r.Orphans, row)
			r.problem(fmt.Sprintf("leaked claude no guard launched: session %s, pid %d, %d processes (%s)",
				row.SessionID, row.PID, row.Processes, strings.Join(row.Argv, " ")),
				"claude-guard reap --unguarded  (preview: claude-guard reap --unguarded --dry-run)")
		}
	}
	if n := r.Registry.Newer; n > 0 {
		r.problem(fmt.Sprintf("%d runs were recorded by a newer claude-guard than this one: an old copy runs somewhere (a copied shim?)", n),
			"claude-guard install-shim --uninstall DIR && claude-guard install-shim DIR  (with the newer claude-guard)")
	}
	if n := r.Registry.Stale; n > 0 {
		r.problem(fmt.Sprintf("%d runs whose guard is gone are not reaped yet", n), "claude-guard reap")
	}
}

// WriteText prints the report for people.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintln(w, "claude")
	if r.Claude.Real != "" {
		fmt.Fprintf(w, "  runs         %s\n", r.Claude.Real)
	} else {
		fmt.Fprintf(w, "  runs         nothing: %s\n", r.Claude.Error)
	}
	switch {
	case r.Claude.Shim != "":
		fmt.Fprintf(w, "  on PATH      %s is claude-guard's shim: claude runs guarded\n", r.Claude.Shim)
	case len(r.Claude.OnPath) > 0:
		fmt.Fprintf(w, "  on PATH      %s is the real claude: guarded only through `claude-guard init` or an alias (or: claude-guard install-shim)\n", r.Claude.OnPath[0].Path)
	default:
		fmt.Fprintln(w, "  on PATH      no claude")
	}
	fmt.Fprintln(w, "registry")
	g := r.Registry
	fmt.Fprintf(w, "  path         %s", g.Path)
	switch {
	case g.Error != "":
		fmt.Fprintf(w, " (unusable)\n")
	case !g.Exists:
		fmt.Fprintf(w, " (made by the first run)\n")
	default:
		fmt.Fprintf(w, " (mode %s)\n", g.Mode)
	}
	fmt.Fprintf(w, "  runs         %d running, %d stale, %d quarantined files\n", g.Running, g.Stale, g.Quarantined)
	fmt.Fprintf(w, "  audit log    %s (%d bytes)\n", g.AuditLog, g.AuditBytes)
	fmt.Fprintln(w, "containment")
	for _, m := range r.Containment {
		mark := "no "
		if m.Available {
			mark = "yes"
		}
		fmt.Fprintf(w, "  %-12s %s  %s\n", m.Name, mark, m.Detail)
	}
	if r.Active.Mode != "" {
		fmt.Fprintf(w, "  %-12s %s\n", "active", r.Active.Mode)
		if r.Active.Fix != "" {
			fmt.Fprintf(w, "  %-12s %s\n", "for cgroups", r.Active.Fix)
		}
	}
	fmt.Fprintln(w, "environment")
	for _, e := range r.Env {
		v := "(unset)"
		if e.Set {
			v = fmt.Sprintf("%q", e.Value)
		}
		fmt.Fprintf(w, "  %-20s %s\n", e.Name, v)
	}
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "no problems found")
		return
	}
	fmt.Fprintf(w, "problems: %d\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n    fix: %s\n", p.What, p.Fix)
	}
}
