package mockapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type sseEvent struct {
	name string
	data map[string]any
}

func post(t *testing.T, url, body string) []sseEvent {
	t.Helper()
	resp, err := http.Post(url+"/v1/messages?beta=true", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var evs []sseEvent
	sc := bufio.NewScanner(resp.Body)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("bad data line %q: %v", line, err)
			}
			if d["type"] != name {
				t.Errorf("event %q carries type %v", name, d["type"])
			}
			evs = append(evs, sseEvent{name, d})
		}
	}
	return evs
}

// reply reassembles a streamed message: its text, tool call and stop reason.
func reply(t *testing.T, evs []sseEvent) (text, tool, input, stop string) {
	t.Helper()
	var names []string
	for _, e := range evs {
		names = append(names, e.name)
		switch e.name {
		case "content_block_start":
			if cb := e.data["content_block"].(map[string]any); cb["type"] == "tool_use" {
				tool = cb["name"].(string)
				if !strings.HasPrefix(cb["id"].(string), "toolu_") {
					t.Errorf("tool_use id %v", cb["id"])
				}
			}
		case "content_block_delta":
			d := e.data["delta"].(map[string]any)
			switch d["type"] {
			case "text_delta":
				text += d["text"].(string)
			case "input_json_delta":
				input += d["partial_json"].(string)
			}
		case "message_delta":
			stop = e.data["delta"].(map[string]any)["stop_reason"].(string)
		}
	}
	if len(names) < 2 || names[0] != "message_start" || names[len(names)-1] != "message_stop" {
		t.Errorf("event order %v", names)
	}
	return
}

const mainBody = `{"model":"claude-x","stream":true,"max_tokens":100,"tools":[{"name":"Read"},{"name":"Bash"}],"messages":[]}`
const sideBody = `{"model":"claude-haiku","stream":true,"max_tokens":1,"messages":[]}`

func TestMockScript(t *testing.T) {
	s := Start(t, Text("first"), Bash("tail -f /dev/null & echo started"), Tool("Read", map[string]any{"file_path": "/x"}))
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q not on 127.0.0.1", s.URL())
	}

	resp, err := http.Head(s.URL() + "/api/hello")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD /api/hello: %v %v", resp, err)
	}

	// A side request does not consume the script.
	if text, tool, _, stop := reply(t, post(t, s.URL(), sideBody)); text != "OK." || tool != "" || stop != "end_turn" {
		t.Errorf("side request got %q %q %q", text, tool, stop)
	}
	if s.Requests() != 0 || s.TurnsUsed() != 0 {
		t.Errorf("side request counted: requests %d turns %d", s.Requests(), s.TurnsUsed())
	}

	if text, tool, _, stop := reply(t, post(t, s.URL(), mainBody)); text != "first" || tool != "" || stop != "end_turn" {
		t.Errorf("turn 1 got %q %q %q", text, tool, stop)
	}
	text, tool, input, stop := reply(t, post(t, s.URL(), mainBody))
	if text != "" || tool != "Bash" || stop != "tool_use" {
		t.Errorf("turn 2 got %q %q %q", text, tool, stop)
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(input), &in); err != nil || in["command"] != "tail -f /dev/null & echo started" || in["description"] == "" {
		t.Errorf("Bash input %q (%v)", input, err)
	}
	if _, tool, input, _ := reply(t, post(t, s.URL(), mainBody)); tool != "Read" || input != `{"file_path":"/x"}` {
		t.Errorf("turn 3 got %q %q", tool, input)
	}
	// Script exhausted: default text.
	if text, _, _, stop := reply(t, post(t, s.URL(), mainBody)); text != "OK." || stop != "end_turn" {
		t.Errorf("after the script got %q %q", text, stop)
	}
	s.WaitRequests(4, time.Second)
	if s.Requests() != 4 || s.TurnsUsed() != 3 {
		t.Errorf("requests %d turns %d, want 4 3", s.Requests(), s.TurnsUsed())
	}

	// Token counting and unknown endpoints.
	resp, err = http.Post(s.URL()+"/v1/messages/count_tokens?beta=true", "application/json", strings.NewReader(mainBody))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "input_tokens") {
		t.Errorf("count_tokens: %s", b)
	}
	if s.Requests() != 4 {
		t.Errorf("count_tokens counted as a main-loop request")
	}
	resp, err = http.Post(s.URL()+"/v1/nope", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown POST: %v %v", resp, err)
	}
	log := s.Log()
	if len(log) != 8 || log[1].Main || !log[2].Main || log[2].Turn != 0 || log[5].Turn != -1 || log[1].Model != "claude-haiku" {
		t.Errorf("log: %+v", log)
	}
}

func TestMockHeld(t *testing.T) {
	hold := make(chan struct{})
	s := Start(t, Text("late").Held(hold))
	got := make(chan string)
	go func() {
		text, _, _, _ := reply(t, post(t, s.URL(), mainBody))
		got <- text
	}()
	s.WaitArrived(1, 10*time.Second)
	if s.Requests() != 0 || s.Log()[0].Served {
		t.Errorf("held request counted as served")
	}
	close(hold)
	if text := <-got; text != "late" {
		t.Errorf("held turn got %q", text)
	}
	s.WaitRequests(1, 10*time.Second)
	if s.Push(Text("pushed")); s.TurnsUsed() != 1 {
		t.Errorf("turns used %d", s.TurnsUsed())
	}
	if text, _, _, _ := reply(t, post(t, s.URL(), mainBody)); text != "pushed" {
		t.Errorf("pushed turn got %q", text)
	}
}

func TestMockNonStreaming(t *testing.T) {
	s := Start(t, Bash("true"))
	resp, err := http.Post(s.URL()+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"m","tools":[{"name":"Bash"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Type       string `json:"type"`
		StopReason string `json:"stop_reason"`
		Content    []struct {
			Type  string         `json:"type"`
			Name  string         `json:"name"`
			Input map[string]any `json:"input"`
		} `json:"content"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || m.StopReason != "tool_use" || len(m.Content) != 1 || m.Content[0].Name != "Bash" || m.Content[0].Input["command"] != "true" {
		t.Errorf("non-streaming reply %+v", m)
	}
}

func TestMockIsMain(t *testing.T) {
	for body, want := range map[string]bool{
		mainBody:                      true,
		sideBody:                      false,
		`{"tools":[{"name":"Read"}]}`: false,
		`not json`:                    false,
	} {
		if got := IsMain([]byte(body)); got != want {
			t.Errorf("IsMain(%s) = %v, want %v", body, got, want)
		}
	}
}
