package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/reaper"
)

var doctorEnv = []string{"CLAUDE_GUARD_HOME", "CLAUDE_GUARD_GRACE", "CLAUDE_GUARD_CLAUDE", "CLAUDE_GUARD_CGROUP", "CLAUDE_CONFIG_DIR", "XDG_STATE_HOME"}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the setup: which claude runs, the registry, containment, leaked claude processes",
		UsageText: "claude-guard doctor [--json]\n\n" +
			"Exits 1 when something needs fixing; each problem comes with its fix.\n" +
			"Example: claude-guard doctor || claude-guard reap --unguarded --dry-run",
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return doctorCmd{JSON: c.Bool("json"), Out: c.App.Writer}.Run()
		},
	}
}

// doctorCmd is `claude-guard doctor`.
type doctorCmd struct {
	JSON bool
	Out  io.Writer
}

func (d doctorCmd) Run() error {
	real, rerr := launcher.FindClaude()
	rep := doctor(real, rerr, launcher.ClaudesOnPath(), reaper.Doctor(doctorEnv))
	// Which containment a run gets is the launcher's to say, by the test
	// it makes itself.
	rep.Active = launcher.Containment()
	for i, m := range rep.Containment {
		if m.Name == "cgroup v2" {
			rep.Containment[i] = reaper.Mechanism{Name: m.Name, Available: rep.Active.Cgroup, Detail: rep.Active.Detail}
		}
	}
	askShell(&rep, os.Getenv("SHELL"))
	if d.JSON {
		if err := writeJSON(d.Out, rep); err != nil {
			return err
		}
	} else {
		writeDoctorText(d.Out, rep)
	}
	if len(rep.Problems) > 0 {
		return exitError{1}
	}
	return nil
}

// doctorReport is what doctor found: which claude runs (the launcher's
// answer), then reaper's findings.
type doctorReport struct {
	Claude claudeReport `json:"claude"`
	reaper.Report
	Active launcher.ContainmentInfo `json:"active"` // the containment a run gets here, and why
}

// claudeReport says what the command claude runs.
type claudeReport struct {
	Real   string            `json:"real,omitempty"`
	Error  string            `json:"error,omitempty"`
	OnPath []launcher.OnPath `json:"on_path"`
	Shim   string            `json:"shim,omitempty"` // the shim that runs when claude is typed, if one does
	// what claude means in the user's interactive shell ($SHELL)
	Shell      *launcher.ShellClaude `json:"shell,omitempty"`
	ShellError string                `json:"shell_error,omitempty"`
}

// askShell asks the user's shell, as it starts interactively, what claude
// is: an alias or function there bypasses the shim and `claude-guard init`.
func askShell(rep *doctorReport, shell string) {
	switch filepath.Base(shell) {
	case "bash", "zsh", "fish":
	default:
		return
	}
	sc, err := launcher.AskShell(shell, 5*time.Second)
	if err != nil {
		rep.Claude.ShellError = err.Error()
		return
	}
	rep.Claude.Shell = &sc
	if !sc.Bypasses {
		return
	}
	init := `eval "$(claude-guard init ` + sc.Shell + `)"`
	if sc.Shell == "fish" {
		init = "claude-guard init fish | source"
	}
	rep.Problems = append([]reaper.Problem{{
		What: fmt.Sprintf("in %s, claude is %s %s: it bypasses claude-guard, so runs there go unguarded", sc.Shell, article(sc.Kind), sc.Definition),
		Fix:  fmt.Sprintf("delete that %s from your %s startup files, or load `%s` after it", sc.Kind, sc.Shell, init),
	}}, rep.Problems...)
}

func article(kind string) string {
	if kind == "alias" {
		return "an alias:"
	}
	return "a " + kind + ":"
}

// doctor puts the claude the guard would run (real, or why none: rerr) and
// every claude on PATH before reaper's findings, problems first.
func doctor(real string, rerr error, onPath []launcher.OnPath, found reaper.Report) doctorReport {
	rep := doctorReport{Claude: claudeReport{Real: real, OnPath: onPath}, Report: found}
	if rep.Claude.OnPath == nil {
		rep.Claude.OnPath = []launcher.OnPath{}
	}
	problems := []reaper.Problem{}
	problem := func(what, fix string) { problems = append(problems, reaper.Problem{What: what, Fix: fix}) }
	if rerr != nil {
		rep.Claude.Error = rerr.Error()
		problem("no real claude to run: "+rerr.Error(),
			"npm install -g @anthropic-ai/claude-code  (or: export CLAUDE_GUARD_CLAUDE=/path/to/claude)")
	}
	var realOnPath string
	for _, c := range onPath {
		switch {
		case c.Guard && realOnPath == "" && rep.Claude.Shim == "":
			rep.Claude.Shim = c.Path
		case c.Guard && realOnPath != "":
			problem(fmt.Sprintf("the shim %s comes after the real claude %s on PATH, so it never runs", c.Path, realOnPath),
				fmt.Sprintf(`export PATH="%s:$PATH"  (in your shell's profile)`, filepath.Dir(c.Path)))
		case !c.Guard && realOnPath == "":
			realOnPath = c.Path
		}
	}
	rep.Problems = append(problems, rep.Problems...)
	return rep
}

// writeDoctorText prints the report for people.
func writeDoctorText(w io.Writer, r doctorReport) {
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
	switch sh := r.Claude.Shell; {
	case sh != nil && sh.Bypasses:
		fmt.Fprintf(w, "  in %-9s claude is %s %s (bypasses claude-guard)\n", sh.Shell, article(sh.Kind), sh.Definition)
	case sh != nil && sh.Kind == "file":
		fmt.Fprintf(w, "  in %-9s claude is %s\n", sh.Shell, sh.Definition)
	case sh != nil && sh.Kind == "none":
		fmt.Fprintf(w, "  in %-9s no claude\n", sh.Shell)
	case sh != nil:
		fmt.Fprintf(w, "  in %-9s claude is %s %s\n", sh.Shell, article(sh.Kind), sh.Definition)
	case r.Claude.ShellError != "":
		fmt.Fprintf(w, "  in $SHELL    unknown: %s\n", r.Claude.ShellError)
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
	fmt.Fprintf(w, "  runs         %d running, %d stale, %s\n", g.Running, g.Stale, plural(g.Quarantined, "quarantined file", "quarantined files"))
	fmt.Fprintf(w, "  audit log    %s (%d bytes)\n", g.AuditLog, g.AuditBytes)
	switch {
	case g.Watcher != 0:
		fmt.Fprintf(w, "  watcher      pid %d\n", g.Watcher)
	case runtime.GOOS == "linux":
		fmt.Fprintf(w, "  watcher      none now (the next run starts one)\n")
	default:
		fmt.Fprintf(w, "  watcher      none on %s (each run has a watchdog of its own)\n", runtime.GOOS)
	}
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
