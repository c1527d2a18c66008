package launcher

import (
	"bytes"
	"encoding/json"
)

const (
	// headMax bytes of each line are enough to tell an init line: claude
	// writes {"type":"system","subtype":"init",... with those keys first.
	headMax = 128
	// initMax bounds what is kept of one init line. The session id sits near
	// its start; the rest (tools, MCP servers) can be long.
	initMax = 1 << 20
)

// initScanner watches claude's stream-json output, fed in arbitrary pieces,
// for {"type":"system","subtype":"init",...,"session_id":...} lines. It
// never holds more than headMax bytes of an ordinary line, so lines of any
// length pass at the cost of a newline search.
type initScanner struct {
	head    []byte // start of the current line
	line    []byte // the current init line, once recognised
	capture bool   // the current line is an init line
	skip    bool   // the current line is not; wait for its end
	found   func(session, model string)
}

func newInitScanner(found func(session, model string)) *initScanner {
	return &initScanner{head: make([]byte, 0, headMax), found: found}
}

func (s *initScanner) Write(p []byte) {
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		chunk := p
		if nl >= 0 {
			chunk = p[:nl]
		}
		switch {
		case s.skip:
		case s.capture:
			s.line = append(s.line, chunk[:min(len(chunk), initMax-len(s.line))]...)
		default:
			room := headMax - len(s.head)
			s.head = append(s.head, chunk[:min(len(chunk), room)]...)
			if len(chunk) > room {
				if isInitHead(s.head) {
					s.capture = true
					s.line = append(append(s.line[:0], s.head...), chunk[room:][:min(len(chunk)-room, initMax-headMax)]...)
				} else {
					s.skip = true
				}
			}
		}
		if nl < 0 {
			return
		}
		s.endLine()
		p = p[nl+1:]
	}
}

func (s *initScanner) endLine() {
	switch {
	case s.capture:
		s.parse(s.line)
	case !s.skip && isInitHead(s.head):
		s.parse(s.head)
	}
	s.head, s.line = s.head[:0], s.line[:0]
	s.capture, s.skip = false, false
	if cap(s.line) > headMax*4 {
		s.line = nil // give a long init line's memory back
	}
}

func isInitHead(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r")
	return len(b) > 0 && b[0] == '{' &&
		bytes.Contains(b, []byte(`"type":"system"`)) && bytes.Contains(b, []byte(`"subtype":"init"`))
}

func (s *initScanner) parse(line []byte) {
	var m struct {
		Type      string `json:"type"`
		Subtype   string `json:"subtype"`
		SessionID string `json:"session_id"`
		Model     string `json:"model"`
	}
	if json.Unmarshal(line, &m) == nil {
		if m.Type == "system" && m.Subtype == "init" && m.SessionID != "" {
			s.found(m.SessionID, m.Model)
		}
		return
	}
	// Too long to keep whole, or cut short: the keys near the start will do.
	if sess := stringField(line, "session_id"); sess != "" {
		s.found(sess, stringField(line, "model"))
	}
}

// stringField finds "key":"value" in compact JSON and returns value, if it
// has no escapes. Inside a JSON string a quote is always escaped, so the
// unescaped "key":" sequence is a key.
func stringField(line []byte, key string) string {
	i := bytes.Index(line, []byte(`"`+key+`":"`))
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+4:]
	end := bytes.IndexByte(v, '"')
	if end <= 0 || end > 200 || bytes.IndexByte(v[:end], '\\') >= 0 {
		return ""
	}
	return string(v[:end])
}
