// Package mockapi is a scripted mock of the Anthropic Messages API, good
// enough to drive the real `claude` CLI fully offline.
//
// claude (2.1.x) is pointed at it with ANTHROPIC_BASE_URL=srv.URL() and any
// ANTHROPIC_API_KEY. Observed with claude 2.1.328 (-p and the TUI):
//
//   - POST /v1/messages?beta=true, streaming (SSE), once per agent-loop step,
//     each carrying the full tool list (Bash included), model
//     claude-opus-5-5, max_tokens 128000, headers User-Agent
//     "claude-cli/2.1.328 (external, sdk-cli|cli)" and
//     X-Claude-Code-Session-Id: <session uuid>;
//   - HEAD /api/hello (connectivity check, answered 200), only without
//     CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1.
//
// No side queries (title generation, quota probes, topic checks, token
// counting) were seen in 2.1.328, but other versions and settings send them,
// so only main-loop requests consume scripted turns: a request is main-loop
// when its "tools" list offers a tool named Bash. Any other /v1/messages
// request gets a short text answer, POST /v1/messages/count_tokens gets a
// token count, other GET/HEAD requests get 200 {}, unknown requests 404; the
// last two are logged with t.Logf. When the script is exhausted, main-loop
// requests get a short text answer too, which ends claude's turn.
package mockapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Turn is one scripted assistant message: either text or a single tool call.
type Turn struct {
	// Text is the assistant's text (used when ToolName is empty; also sent
	// as a text block before the tool call when both are set).
	Text string
	// ToolName, if set, makes the turn a tool_use block for that tool.
	ToolName string
	// ToolInput is the tool's input object (marshalled to JSON).
	ToolInput any
	// Hold, if non-nil, delays the response until it is closed (or the
	// client goes away), to keep claude busy mid-request.
	Hold <-chan struct{}
}

// Held returns a copy of t whose answer waits until hold is closed.
func (t Turn) Held(hold <-chan struct{}) Turn { t.Hold = hold; return t }

// Text returns a turn that answers with plain text and ends the agent's turn.
func Text(s string) Turn { return Turn{Text: s} }

// Bash returns a turn that asks claude to run command with its Bash tool.
func Bash(command string) Turn {
	return Tool("Bash", map[string]any{
		"command":     command,
		"description": "Run a command for the test",
	})
}

// Tool returns a turn that calls the named tool with the given input.
func Tool(name string, input any) Turn { return Turn{ToolName: name, ToolInput: input} }

// Request is what the server saw of one HTTP request.
type Request struct {
	Method string
	Path   string // URL path without the query
	Query  string
	Header http.Header
	Body   []byte
	// For POST /v1/messages: the decoded model, whether the request counted
	// as a main-loop request, and the index of the scripted turn it consumed
	// (-1 if it got the default answer).
	Model string
	Main  bool
	Turn  int
	// Served is false while the answer is being held or written.
	Served bool
}

// Server is a running mock. It is closed by t.Cleanup.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	turns []Turn
	next  int // next scripted turn
	main  int // main-loop /v1/messages requests served
	all   []Request
	cond  chan struct{} // closed and replaced on every served request
	msgID int
	// DefaultText answers side requests and main-loop requests once the
	// script is exhausted. Set before claude starts.
	DefaultText string
}

// Start starts a mock on 127.0.0.1 that answers main-loop requests with turns,
// in order.
func Start(t testing.TB, turns ...Turn) *Server {
	t.Helper()
	s := &Server{t: t, turns: turns, cond: make(chan struct{}), DefaultText: "OK."}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mockapi: listen: %v", err)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	t.Cleanup(func() {
		// Do not wait for claude's keep-alive connections forever.
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// URL is the base URL, for ANTHROPIC_BASE_URL.
func (s *Server) URL() string { return s.srv.URL }

// Push appends turns to the script.
func (s *Server) Push(turns ...Turn) {
	s.mu.Lock()
	s.turns = append(s.turns, turns...)
	s.mu.Unlock()
}

// Requests is the number of main-loop /v1/messages requests served so far.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.main
}

// TurnsUsed is the number of scripted turns consumed so far.
func (s *Server) TurnsUsed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Log returns a copy of every request seen so far.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.all...)
}

// Arrived is the number of main-loop /v1/messages requests received so far,
// answered or not (a held turn counts as soon as it is received).
func (s *Server) Arrived() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.all {
		if r.Main {
			n++
		}
	}
	return n
}

// WaitArrived blocks until at least n main-loop requests were received.
func (s *Server) WaitArrived(n int, timeout time.Duration) {
	s.t.Helper()
	if !s.WaitFor(timeout, func([]Request) bool { return s.Arrived() >= n }) {
		s.t.Fatalf("mockapi: timed out after %v waiting for %d main-loop requests to arrive (got %d)", timeout, n, s.Arrived())
	}
}

// WaitRequests blocks until at least n main-loop /v1/messages requests have
// been answered (the response fully written), or fails the test after timeout.
func (s *Server) WaitRequests(n int, timeout time.Duration) {
	s.t.Helper()
	if !s.WaitFor(timeout, func([]Request) bool { return s.Requests() >= n }) {
		s.t.Fatalf("mockapi: timed out after %v waiting for %d main-loop requests (got %d)", timeout, n, s.Requests())
	}
}

// WaitFor blocks until cond (called with the request log after every served
// request) is true, or timeout passes. It reports whether cond became true.
func (s *Server) WaitFor(timeout time.Duration, cond func([]Request) bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.cond
		log := append([]Request(nil), s.all...)
		s.mu.Unlock()
		if cond(log) {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// arrived logs a request and returns its index; update lets the handler
// fill in fields later; served marks it answered.
func (s *Server) arrived(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, r)
	s.notify()
	return len(s.all) - 1
}

func (s *Server) update(idx int, f func(*Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.all[idx])
	s.notify()
}

func (s *Server) served(idx int) {
	s.update(idx, func(r *Request) {
		r.Served = true
		if r.Main {
			s.main++
		}
	})
}

func (s *Server) notify() {
	close(s.cond)
	s.cond = make(chan struct{})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	idx := s.arrived(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Turn: -1})
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		s.messages(w, r, idx, body)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"input_tokens":10}`)
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		if r.URL.Path != "/api/hello" && r.URL.Path != "/" {
			s.logf("mockapi: %s %s (answered {})", r.Method, r.URL.RequestURI())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			io.WriteString(w, `{}`)
		}
	default:
		s.logf("mockapi: unknown request %s %s (answered 404)", r.Method, r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"mockapi: no such endpoint"}}`)
	}
	s.served(idx)
}

// logf logs unless the test already finished (claude may still poke the
// server while t.Cleanup runs).
func (s *Server) logf(format string, args ...any) {
	defer func() { recover() }()
	s.t.Logf(format, args...)
}

type messagesRequest struct {
	Model     string `json:"model"`
	Stream    bool   `json:"stream"`
	MaxTokens int    `json:"max_tokens"`
	Tools     []struct {
		Name string `json:"name"`
	} `json:"tools"`
}

// IsMain reports whether a /v1/messages body is a main-loop request: one
// that offers the Bash tool.
func IsMain(body []byte) bool {
	var m messagesRequest
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	for _, t := range m.Tools {
		if t.Name == "Bash" {
			return true
		}
	}
	return false
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, idx int, body []byte) {
	var m messagesRequest
	if err := json.Unmarshal(body, &m); err != nil {
		s.logf("mockapi: bad /v1/messages body: %v", err)
	}
	main := IsMain(body)
	s.mu.Lock()
	turn := Turn{Text: s.DefaultText}
	n := -1
	if main && s.next < len(s.turns) {
		turn = s.turns[s.next]
		n = s.next
		s.next++
	}
	s.msgID++
	id := fmt.Sprintf("msg_mock_%04d", s.msgID)
	s.all[idx].Model, s.all[idx].Main, s.all[idx].Turn = m.Model, main, n
	s.notify()
	s.mu.Unlock()
	if turn.Hold != nil {
		select {
		case <-turn.Hold:
		case <-r.Context().Done():
			return
		}
	}
	model := m.Model
	if model == "" {
		model = "claude-mock"
	}
	if !m.Stream {
		writeJSON(w, id, model, turn)
		return
	}
	writeSSE(w, id, model, turn)
}

func blocks(turn Turn, id string) []map[string]any {
	var out []map[string]any
	if turn.Text != "" || turn.ToolName == "" {
		out = append(out, map[string]any{"type": "text", "text": turn.Text})
	}
	if turn.ToolName != "" {
		input := turn.ToolInput
		if input == nil {
			input = map[string]any{}
		}
		out = append(out, map[string]any{
			"type":  "tool_use",
			"id":    "toolu_" + strings.TrimPrefix(id, "msg_"),
			"name":  turn.ToolName,
			"input": input,
		})
	}
	return out
}

func stopReason(turn Turn) string {
	if turn.ToolName != "" {
		return "tool_use"
	}
	return "end_turn"
}

var usage = map[string]any{"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

func writeJSON(w http.ResponseWriter, id, model string, turn Turn) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content": blocks(turn, id), "stop_reason": stopReason(turn), "stop_sequence": nil,
		"usage": usage,
	})
}

func writeSSE(w http.ResponseWriter, id, model string, turn Turn) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	ev := func(name string, data map[string]any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", name, b)
	}
	ev("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usage,
	}})
	for i, b := range blocks(turn, id) {
		switch b["type"] {
		case "text":
			ev("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "text", "text": ""}})
			ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "text_delta", "text": b["text"]}})
		case "tool_use":
			ev("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": b["id"], "name": b["name"], "input": map[string]any{}}})
			in, _ := json.Marshal(b["input"])
			ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": string(in)}})
		}
		ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	ev("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopReason(turn), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": 5}})
	ev("message_stop", map[string]any{"type": "message_stop"})
	w.Write(buf.Bytes())
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
