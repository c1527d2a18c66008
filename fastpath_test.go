package main

import (
	"slices"
	"testing"
)

// The fast path must step aside for every name the app answers as a command.
func TestFastPathKnowsEveryCommand(t *testing.T) {
	app := newApp()
	app.Setup()
	for _, c := range app.Commands {
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			if !slices.Contains(appCommands, n) {
				t.Errorf("command %q of the app is missing from appCommands", n)
			}
		}
	}
}

// Everything that is not plainly a command goes to the app: nothing is run.
func TestFastPathStepsAside(t *testing.T) {
	for _, args := range [][]string{
		{"claude-guard"},
		{"claude-guard", ""},
		{"claude-guard", "--label", "x", "claude"},
		{"claude-guard", "--", "claude"},
		{"claude-guard", "-h"},
		{"claude-guard", "ps", "--json"},
		{"claude-guard", "run", "claude"},
		{"claude-guard", "help"},
		{"claude-guard", "claude", "--generate-bash-completion"},
		{"claude-guard", "__watchdog", "only-one-arg"},
	} {
		if _, ok := fastPath(args); ok {
			t.Errorf("fastPath(%q) ran it; want the app", args)
		}
	}
}
