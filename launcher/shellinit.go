package launcher

import (
	"errors"
	"fmt"
	"strings"
)

// Shells are the shells ShellInit writes code for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// ErrUnknownShell reports a shell ShellInit has no code for.
var ErrUnknownShell = errors.New("unknown shell")

// ShellInit returns the code that, evaluated by shell, makes the command
// claude run guarded: a function claude that runs `guard claude ARGS...`, guard
// being the absolute path of this program. The function calls the guard by
// path with `command`, so neither itself nor a shim named claude on PATH is
// ever run in its place; and the guard skips itself when it looks for the
// real claude. Evaluating the code twice is harmless: a claude function that
// is already defined (this one or the user's own) is left as it is.
func ShellInit(shell, guard string) (string, error) {
	switch shell {
	case "bash", "zsh":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: eval "$(claude-guard init %[1]s)"
if ! typeset -f claude >/dev/null 2>&1; then
  # "function NAME" is never alias-expanded, so an old alias claude does not break this.
  function claude {
    command %[2]s claude "$@"
  }
fi
`, shell, shQuote(guard)), nil
	case "fish":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: claude-guard init fish | source
if not functions -q claude
    function claude --description 'claude, run by claude-guard'
        command %s claude $argv
    end
end
`, fishQuote(guard)), nil
	case "powershell", "pwsh":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: claude-guard init powershell | Out-String | Invoke-Expression
if (-not (Test-Path Function:\claude)) {
    function global:claude { & %s claude @args }
}
`, psQuote(guard)), nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownShell, shell)
}

// shQuote quotes s for sh, bash and zsh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, where \ and ' are special inside '...'.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// psQuote quotes s for PowerShell, where ' doubles inside '...'.
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
