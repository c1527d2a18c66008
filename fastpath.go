package main

import (
	"strings"

	"github.com/claude-guard/claude-guard/launcher"
)

// userCommands are the app's visible commands, appCommands all the names it
// answers (a test keeps both equal to newApp's), help included.
var (
	userCommands = []string{"run", "version", "ps", "reap", "kill", "init", "install-shim", "log", "doctor", "completion"}
	appCommands  = append([]string{launcher.WatchdogCommand, launcher.WatcherCommand, launcher.DaemonWatchCommand, "help", "h"}, userCommands...)
)

// fastPath runs the two launches that need no command line parsing without
// building the urfave/cli app (a third of a millisecond on every launch):
// `claude-guard COMMAND ARGS...` where COMMAND is plainly a command (no
// option before it, not named like one of ours, not a completion request),
// and the watcher and watchdog the runs start. ok is false for everything else, which
// the app handles exactly as before.
func fastPath(args []string) (code int, ok bool) {
	if len(args) < 2 {
		return 0, false
	}
	first := args[1]
	if first == launcher.WatchdogCommand && len(args) == 4 {
		if err := watchdog(args[2], args[3]); err != nil {
			warn("%v", err)
			return 1, true
		}
		return 0, true
	}
	if first == launcher.WatcherCommand && len(args) == 3 {
		if err := watcher(args[2]); err != nil {
			warn("%v", err)
			return 1, true
		}
		return 0, true
	}
	if first == "" || strings.HasPrefix(first, "-") || args[len(args)-1] == "--generate-bash-completion" {
		return 0, false
	}
	for _, c := range appCommands {
		if first == c {
			return 0, false
		}
	}
	err := guardCmd{subcommands: userCommands, cfg: launcher.Config{Argv: args[1:], Grace: envGrace()}}.Run()
	return exitCode(err, nil, nil), true
}
