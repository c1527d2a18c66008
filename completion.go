package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/claude-guard/claude-guard/killtree"
	"github.com/claude-guard/claude-guard/launcher"
	"github.com/claude-guard/claude-guard/pidfile"
)

// completeFlag ends the command line of a shell asking what may come next
// (the scripts below, urfave/cli's fish script).
const completeFlag = "--generate-bash-completion"

// complete answers a completion request: args are the words after the
// program's name, the flag removed; a last word starting with "-" is the one
// being typed, any other word is complete. It offers subcommands, flags,
// shell names, signal names and kill's targets (run ids, labels, session ids).
// Once a COMMAND is typed nothing is printed (the shell falls back to file
// names) and nothing is ever run to complete it. handled is false when "--"
// comes before the last word: from there on the words are the COMMAND's,
// verbatim, and the request is not one.
func complete(app *cli.App, args []string, w io.Writer) (handled bool) {
	var cmd *cli.Command
	flags, positional := append(app.Flags, cli.VersionFlag), 0
	for i, a := range args {
		last := i == len(args)-1
		switch {
		case a == "--" && !last:
			return false
		case strings.HasPrefix(a, "-") && a != "-":
			if last {
				if f := findFlag(flags, a); f != nil && takesValue(f) {
					completeValue(w, f)
				} else {
					printFlags(w, flags, a)
				}
				return true
			}
		case i > 0 && strings.HasPrefix(args[i-1], "-") && !strings.Contains(args[i-1], "=") && takesValue(findFlag(flags, args[i-1])):
			// the value of the flag before
		case cmd == nil:
			if cmd = app.Command(a); cmd == nil || cmd.Hidden {
				return true // a COMMAND: the rest of the line is its own
			}
			flags = cmd.Flags
		case cmd.Name == "run":
			return true
		default:
			positional++
		}
	}
	switch {
	case cmd == nil:
		for _, c := range app.VisibleCommands() {
			fmt.Fprintln(w, c.Name)
		}
	case cmd.Name == "init" || cmd.Name == "completion":
		if positional == 0 {
			for _, sh := range launcher.Shells {
				fmt.Fprintln(w, sh)
			}
		}
	case cmd.Name == "kill":
		for _, t := range killTargets() {
			fmt.Fprintln(w, t)
		}
	case cmd.Name == "run" || cmd.Name == "install-shim":
		// a COMMAND, a directory: the shell's own completion
	default:
		printFlags(w, flags, "-")
	}
	return true
}

func findFlag(flags []cli.Flag, arg string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if arg == "--"+n || len(n) == 1 && arg == "-"+n {
				return f
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	if f == nil {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}

// printFlags prints the flags starting with typed, long ones as --name.
func printFlags(w io.Writer, flags []cli.Flag, typed string) {
	for _, f := range append(flags, cli.HelpFlag) {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			name := "--" + n
			if len(n) == 1 {
				name = "-" + n
			}
			if strings.HasPrefix(name, typed) {
				fmt.Fprintln(w, name)
			}
		}
	}
}

func completeValue(w io.Writer, f cli.Flag) {
	if f.Names()[0] == "signal" {
		for _, s := range killtree.SignalNames() {
			fmt.Fprintln(w, s)
		}
	}
}

// killTargets lists what kill accepts by name: run ids, labels and session
// ids of the runs on record. It never creates the registry.
func killTargets() []string {
	dir, err := pidfile.Dir()
	if err != nil {
		return nil
	}
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	reg, err := pidfile.Open(dir)
	if err != nil {
		return nil
	}
	boot, _ := killtree.BootID()
	runs, _ := reg.List(boot)
	var out []string
	for _, r := range runs {
		out = append(out, r.RunID)
		// a word the shell would split is no completion
		if r.Label != "" && !strings.ContainsAny(r.Label, " \t\n'\"$`\\") {
			out = append(out, r.Label)
		}
		if r.SessionID != "" {
			out = append(out, r.SessionID)
		}
	}
	return out
}

// bashCompletion is urfave/cli v2's autocomplete/bash_autocomplete with PROG
// set, and a fallback for systems without the bash-completion package.
const bashCompletion = `# claude-guard completion for bash. Load with: source <(claude-guard completion bash)
_cli_init_completion() {
  COMPREPLY=()
  if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref "$@" cur prev words cword
  else
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
}

_cli_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base words cword
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if declare -F _init_completion >/dev/null 2>&1; then
      _init_completion -n "=:" || return
    else
      _cli_init_completion -n "=:" || return
    fi
    words=("${words[@]:0:$cword}")
    if [[ "$cur" == "-"* ]]; then
      requestComp="${words[*]} ${cur} --generate-bash-completion"
    else
      requestComp="${words[*]} --generate-bash-completion"
    fi
    opts=$(eval "${requestComp}" 2>/dev/null)
    COMPREPLY=($(compgen -W "${opts}" -- ${cur}))
    return 0
  fi
}

complete -o bashdefault -o default -F _cli_bash_autocomplete claude-guard
`

// zshCompletion is urfave/cli v2's autocomplete/zsh_autocomplete with PROG set.
const zshCompletion = `#compdef claude-guard
# claude-guard completion for zsh. Load with: source <(claude-guard completion zsh)

_cli_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _cli_zsh_autocomplete claude-guard
`

// powershellCompletion asks the guard for the words that can follow, the
// way the bash script does.
const powershellCompletion = `# claude-guard completion for PowerShell. Load with: claude-guard completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'claude-guard', 'claude-guard.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition -or ($_.Extent.EndOffset -eq $cursorPosition -and $wordToComplete -eq '') } |
        ForEach-Object { $_.ToString() })
    if ($wordToComplete.StartsWith('-')) { $words += $wordToComplete }
    & '@GUARD@' @words --generate-bash-completion 2>$null |
        Where-Object { $_ -like "$wordToComplete*" } |
        ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
`
