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
// real claude. An alias claude that does not run claude-guard would win over
// the function, so it is removed, with a line on stderr saying so. Evaluating
// the code twice is harmless: a claude function that is already defined (this
// one or the user's own) is left as it is, the user's own with a line on
// stderr saying claude runs unguarded.
func ShellInit(shell, guard string) (string, error) {
	switch shell {
	case "bash", "zsh":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: eval "$(claude-guard init %[1]s)"
# An alias is expanded before any function is looked up: one that does not
# run claude-guard would bypass it.
__claude_guard_alias=$(alias claude 2>/dev/null)
case "$__claude_guard_alias" in
  ''|*claude-guard*) ;;
  *) printf 'claude-guard: removed the alias %%s, which ran claude unguarded; delete it from your shell startup files\n' "${__claude_guard_alias#alias }" >&2
     unalias claude ;;
esac
unset __claude_guard_alias
if ! typeset -f claude >/dev/null 2>&1; then
  # "function NAME" is never alias-expanded, so an old alias claude does not break this.
  function claude {
    command %[2]s claude "$@"
  }
else
  case "$(typeset -f claude)" in
    *claude-guard*) ;;
    *) printf 'claude-guard: claude is a function of yours that does not run claude-guard: claude runs unguarded\n' >&2 ;;
  esac
fi
`, shell, shQuote(guard)), nil
	case "fish":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: claude-guard init fish | source
# In fish an alias is a function: one that does not run claude-guard would
# bypass it.
if functions -q claude; and not string match -q '*claude-guard*' -- (functions claude | string collect)
    if string match -q '*alias claude=*' -- (functions claude | string collect)
        echo 'claude-guard: removed the alias claude, which ran claude unguarded; delete it from your fish config' >&2
        functions --erase claude
    else
        echo 'claude-guard: claude is a function of yours that does not run claude-guard: claude runs unguarded' >&2
    end
end
if not functions -q claude
    function claude --description 'claude, run by claude-guard'
        command %s claude $argv
    end
end
`, fishQuote(guard)), nil
	case "powershell", "pwsh":
		return fmt.Sprintf(`# claude-guard: claude runs guarded. Load with: claude-guard init powershell | Out-String | Invoke-Expression
# An alias wins over a function: one that does not run claude-guard would bypass it.
if ((Test-Path Alias:\claude) -and ((Get-Alias claude).Definition -notlike '*claude-guard*')) {
    Write-Warning "claude-guard: removed the alias claude -> $((Get-Alias claude).Definition), which ran claude unguarded; delete it from your profile"
    Remove-Item Alias:\claude -Force
}
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
