package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/launcher"
)

func shellArg(c *cli.Context, cmd string) (string, error) {
	if c.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s: name one shell: %s", cmd, strings.Join(launcher.Shells, ", "))}
	}
	sh := c.Args().First()
	for _, s := range append(launcher.Shells, "pwsh") {
		if sh == s {
			return sh, nil
		}
	}
	return "", usageError{fmt.Errorf("%s: unknown shell %q; use one of %s", cmd, sh, strings.Join(launcher.Shells, ", "))}
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "print the shell code that makes claude run guarded",
		UsageText: "claude-guard init bash|zsh|fish|powershell\n\n" +
			"Examples:\n" +
			"  eval \"$(claude-guard init bash)\"     # in ~/.bashrc\n" +
			"  eval \"$(claude-guard init zsh)\"      # in ~/.zshrc\n" +
			"  claude-guard init fish | source      # in ~/.config/fish/config.fish\n" +
			"  claude-guard init powershell | Out-String | Invoke-Expression   # in $PROFILE",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			sh, err := shellArg(c, "init")
			if err != nil {
				return err
			}
			return initCmd{Shell: sh, Out: c.App.Writer}.Run()
		},
	}
}

// initCmd is `claude-guard init SHELL`.
type initCmd struct {
	Shell string
	Out   io.Writer
}

func (i initCmd) Run() error {
	self, err := launcher.Self()
	if err != nil {
		return err
	}
	code, err := launcher.ShellInit(i.Shell, self)
	if err != nil {
		return usageError{err}
	}
	_, err = io.WriteString(i.Out, code)
	return err
}

func installShimCommand() *cli.Command {
	return &cli.Command{
		Name:  "install-shim",
		Usage: "make DIR/claude run claude-guard (a link to this program), for clients that start claude by name or path",
		UsageText: "claude-guard install-shim [--uninstall] [DIR]\n\n" +
			"DIR defaults to ~/.local/bin; it must come before the real claude's directory in PATH.\n" +
			"Example: claude-guard install-shim ~/.local/bin && export PATH=\"$HOME/.local/bin:$PATH\"",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "uninstall", Usage: "remove DIR/claude if it is this program's shim, nothing else"},
			&cli.BoolFlag{Name: "mkdir", Usage: "create DIR if it does not exist (~/.local/bin always is)"},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError{fmt.Errorf("install-shim: one DIR at most, got %d", c.NArg())}
			}
			return shimCmd{Dir: c.Args().First(), Uninstall: c.Bool("uninstall"), Mkdir: c.Bool("mkdir")}.Run()
		},
	}
}

// shimCmd is `claude-guard install-shim [--uninstall] [DIR]`.
type shimCmd struct {
	Dir       string // "" means ~/.local/bin
	Uninstall bool
	Mkdir     bool // create an explicit DIR that does not exist
}

func (s shimCmd) Run() error {
	var dflt string
	if home, err := os.UserHomeDir(); err == nil {
		dflt = filepath.Join(home, ".local", "bin")
	}
	dir := s.Dir
	if dir == "" {
		if dflt == "" {
			return errors.New("install-shim: no home directory; name a DIR")
		}
		dir = dflt
	}
	if s.Uninstall {
		return uninstallShim(dir)
	}
	_, err := os.Stat(dir)
	missing := errors.Is(err, fs.ErrNotExist)
	if missing && filepath.Clean(dir) != dflt && !s.Mkdir {
		// a mistyped DIR would otherwise become a directory nobody has on PATH
		return fmt.Errorf("install-shim: %s does not exist; pass --mkdir to create it", dir)
	}
	st, err := launcher.InstallShim(dir)
	if missing && err == nil {
		warn("created %s", dir)
	}
	if errors.Is(err, launcher.ErrNotShim) {
		warn("%s exists and is not claude-guard (the real claude?); refusing to overwrite it", st.Path)
		warn("hint: install the shim into a directory of its own that comes first in PATH, e.g. claude-guard install-shim ~/.local/bin")
		return exitError{1}
	}
	if err != nil {
		return err
	}
	switch {
	case !st.Created:
		warn("%s is already claude-guard's shim", st.Path)
	case st.Copied:
		warn("installed %s (a copy of this program: links are not possible here; reinstall it after upgrading claude-guard)", st.Path)
	default:
		warn("installed %s (a link to this program)", st.Path)
	}
	reportShimPath(st, filepath.Dir(st.Path))
	return nil
}

func reportShimPath(st launcher.ShimState, dir string) {
	realDir := "the real claude's directory"
	if st.RealClaude != "" {
		realDir = filepath.Dir(st.RealClaude)
	}
	switch {
	case !st.OnPath:
		warn("%s is not on PATH: add it before %s, e.g. in your shell profile: export PATH=\"%s%c$PATH\"", dir, realDir, dir, os.PathListSeparator)
	case st.Shadowed:
		warn("PATH has %s before %s, so claude is still the real one: put %s first, e.g. export PATH=\"%s%c$PATH\"", realDir, dir, dir, dir, os.PathListSeparator)
	default:
		warn("PATH is in order (%s comes first): claude now runs guarded", dir)
	}
	if st.RealClaude == "" {
		warn("no real claude found yet: install it (npm install -g @anthropic-ai/claude-code) or set CLAUDE_GUARD_CLAUDE")
	} else {
		warn("the shim runs %s", st.RealClaude)
	}
}

func uninstallShim(dir string) error {
	path, removed, err := launcher.UninstallShim(dir)
	switch {
	case errors.Is(err, launcher.ErrNotShim):
		warn("%s is not claude-guard's shim; leaving it alone", path)
		return exitError{1}
	case err != nil:
		return err
	case removed:
		warn("removed %s", path)
	default:
		warn("no shim at %s; nothing removed", path)
	}
	return nil
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print the shell completion script for claude-guard",
		UsageText: "claude-guard completion bash|zsh|fish|powershell\n\n" +
			"Examples:\n" +
			"  source <(claude-guard completion bash)                       # in ~/.bashrc\n" +
			"  source <(claude-guard completion zsh)                        # in ~/.zshrc, after compinit\n" +
			"  claude-guard completion fish > ~/.config/fish/completions/claude-guard.fish\n" +
			"  claude-guard completion powershell | Out-String | Invoke-Expression   # in $PROFILE",
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			sh, err := shellArg(c, "completion")
			if err != nil {
				return err
			}
			return completionCmd{Shell: sh, App: c.App, Out: c.App.Writer}.Run()
		},
	}
}

// completionCmd is `claude-guard completion SHELL`.
type completionCmd struct {
	Shell string
	App   *cli.App
	Out   io.Writer
}

func (cc completionCmd) Run() error {
	self, err := launcher.Self()
	if err != nil {
		return err
	}
	var script string
	switch cc.Shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		if script, err = cc.App.ToFishCompletion(); err != nil {
			return err
		}
	default:
		script = strings.ReplaceAll(powershellCompletion, "@GUARD@", strings.ReplaceAll(self, "'", "''"))
	}
	_, err = io.WriteString(cc.Out, script)
	return err
}
