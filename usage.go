package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// Usage errors say what is wrong in the words the user typed and point at
// the help of the command they ran.

// noArgs refuses arguments to a command that takes none.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q", c.Command.Name, c.Args().First())}
	}
	return nil
}

// commandPath is "claude-guard" or "claude-guard SUBCOMMAND", the subcommand
// being the first word of args that is not an option.
func commandPath(app *cli.App, args []string) string {
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if c := app.Command(a); c != nil && !c.Hidden {
			return "claude-guard " + c.Name
		}
		break
	}
	return "claude-guard"
}

// Compiled on first use: a launch must not pay for them.
var (
	undefinedFlag = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^flag provided but not defined: -(\S+)$`)
	})
	invalidValue = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^invalid value "(.*)" for flag -(\S+): `)
	})
)

// rephrase turns the flag package's messages into ones that use the
// spelling the user typed (--grace, not -grace) and, for a duration, say
// what one looks like.
func rephrase(err error, app *cli.App, args []string) error {
	typed := func(name string) string {
		for _, a := range args[1:] {
			if a == "-"+name || a == "--"+name || strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"=") {
				return strings.SplitN(a, "=", 2)[0]
			}
		}
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	msg := err.Error()
	if m := undefinedFlag().FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("flag provided but not defined: %s", typed(m[1]))
	}
	if m := invalidValue().FindStringSubmatch(msg); m != nil {
		switch lookupFlag(app, m[2]).(type) {
		case *cli.DurationFlag:
			return fmt.Errorf("%s %s: %s", typed(m[2]), m[1], durationHint(m[1]))
		case *cli.IntFlag:
			return fmt.Errorf("%s %s: not a whole number", typed(m[2]), m[1])
		}
		return fmt.Errorf("%s %s: %s", typed(m[2]), m[1], strings.TrimPrefix(msg, m[0]))
	}
	return err
}

// lookupFlag finds the flag called name of the app or any of its commands.
func lookupFlag(app *cli.App, name string) cli.Flag {
	flags := app.Flags
	for _, c := range app.Commands {
		flags = append(flags, c.Flags...)
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// durationHint says what a duration looks like, from what the user typed.
func durationHint(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "no unit (write " + v + "s or " + v + "ms)"
	}
	return "not a duration like 2s or 500ms"
}
