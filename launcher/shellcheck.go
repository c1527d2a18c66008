package launcher

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ShellClaude is what the command claude means in a user's interactive
// shell, where an alias or a function defined in its startup files can
// bypass both the shim and `claude-guard init`.
type ShellClaude struct {
	Shell      string `json:"shell"`
	Kind       string `json:"kind"` // alias, function, file or none
	Definition string `json:"definition,omitempty"`
	Bypasses   bool   `json:"bypasses"` // an alias or function that does not run claude-guard
}

const shellMarker = "__claude_guard__"

// askScripts print one line, marked, saying what claude is.
var askScripts = map[string]string{
	"bash": `if a=$(alias claude 2>/dev/null); then printf '` + shellMarker + `\talias\t%s\n' "$a"
elif typeset -f claude >/dev/null 2>&1; then printf '` + shellMarker + `\tfunction\t%s\n' "$(typeset -f claude | tr '\n' ' ')"
elif p=$(command -v claude); then printf '` + shellMarker + `\tfile\t%s\n' "$p"
else printf '` + shellMarker + `\tnone\t\n'; fi`,
	"fish": `if functions -q claude; printf '` + shellMarker + `\tfunction\t%s\n' (functions claude | string join ' ')
else if command -v claude >/dev/null; printf '` + shellMarker + `\tfile\t%s\n' (command -v claude)
else; printf '` + shellMarker + `\tnone\t\n'; end`,
}

// AskShell starts shell (a path or name: bash, zsh or fish) as an
// interactive shell would start, startup files and all, with no terminal
// and at most timeout to answer, and asks it what claude is.
func AskShell(shell string, timeout time.Duration) (ShellClaude, error) {
	name := filepath.Base(shell)
	script, ok := askScripts[name]
	if name == "zsh" {
		script, ok = askScripts["bash"], true
	}
	if !ok {
		return ShellClaude{}, fmt.Errorf("launcher: %w %q", ErrUnknownShell, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-i", "-c", script)
	cmd.WaitDelay = time.Second // a background job of the startup files keeps the pipe open
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) == 3 && f[0] == shellMarker {
			def := strings.Join(strings.Fields(strings.TrimPrefix(f[2], "alias ")), " ")
			c := ShellClaude{Shell: name, Kind: f[1], Definition: def}
			c.Bypasses = (c.Kind == "alias" || c.Kind == "function") && !strings.Contains(c.Definition, "claude-guard")
			return c, nil
		}
	}
	if ctx.Err() != nil {
		return ShellClaude{}, fmt.Errorf("launcher: %s -i did not answer within %v", name, timeout)
	}
	return ShellClaude{}, fmt.Errorf("launcher: ask %s -i what claude is: %v", name, err)
}
