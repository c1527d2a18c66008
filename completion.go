package main

import "github.com/urfave/cli/v2"

// completeApp completes the guard's own options and commands only. Once a
// COMMAND is typed the rest of the line is that command's: nothing is
// printed (the shell falls back to file names) and nothing is ever run to
// complete it. `claude-guard -- claude ... --generate-bash-completion` and the
// shim pass the word through to claude verbatim.
func completeApp(c *cli.Context) {
	if c.NArg() > 0 {
		return
	}
	cli.DefaultAppComplete(c)
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

complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete claude-guard
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
