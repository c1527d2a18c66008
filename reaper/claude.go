package reaper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// claude's own records of its running sessions,
// $CLAUDE_CONFIG_DIR/sessions/<pid>.json (default ~/.claude).

// ClaudeConfigDir is where claude keeps its state.
func ClaudeConfigDir() string {
	if d := os.Getenv("CLAUDE_CONFIG_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".claude")
}

// SessionsFile is the path of claude's record for pid.
func SessionsFile(pid int) string {
	dir := ClaudeConfigDir()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "sessions", strconv.Itoa(pid)+".json")
}

// ReadSessionsFile returns the session id in claude's record at path, only
// when the record names pid and its procStart equals start: a record left by
// an earlier process with the same pid is not this one's.
func ReadSessionsFile(path string, pid int, start uint64) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 1<<20 {
		return ""
	}
	return parseSessionsFile(b, pid, start)
}

func parseSessionsFile(b []byte, pid int, start uint64) string {
	var s struct {
		PID       int             `json:"pid"`
		SessionID string          `json:"sessionId"`
		ProcStart json.RawMessage `json:"procStart"`
	}
	if json.Unmarshal(b, &s) != nil || s.PID != pid || s.SessionID == "" {
		return ""
	}
	if strings.Trim(string(s.ProcStart), `"`) != strconv.FormatUint(start, 10) {
		return ""
	}
	return s.SessionID
}
