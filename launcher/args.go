package launcher

import "strings"

// argValue returns the value of claude's option name (or its short alias)
// in args, in either spelling (--name value, --name=value). Scanning stops
// at "--". The last occurrence wins, as claude's own parser does.
func argValue(args []string, name, short string) string {
	var v string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if rest, ok := strings.CutPrefix(a, name+"="); ok {
			v = rest
			continue
		}
		if (a == name || (short != "" && a == short)) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			v = args[i+1]
			i++
		}
	}
	return v
}

// sessionFromArgs is the session id the arguments name: --session-id, or
// the session --resume / -r continues.
func sessionFromArgs(args []string) string {
	if id := argValue(args, "--session-id", ""); id != "" {
		return id
	}
	return argValue(args, "--resume", "-r")
}
