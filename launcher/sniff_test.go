package launcher

import (
	"strings"
	"testing"
)

func scanAll(t *testing.T, input string, split int) []string {
	t.Helper()
	var got []string
	s := newInitScanner(func(sess, model string) { got = append(got, sess+"/"+model) })
	for len(input) > 0 {
		n := min(split, len(input))
		s.Write([]byte(input[:n]))
		input = input[n:]
	}
	return got
}

func TestInitScanner(t *testing.T) {
	initLine := `{"type":"system","subtype":"init","cwd":"/tmp","session_id":"8f0c8c1e-1111-2222-3333-444455556666","tools":["Bash"],"model":"claude-x"}` + "\n"
	long := `{"type":"system","subtype":"init","cwd":"/tmp","session_id":"aaaa","tools":["` + strings.Repeat("t", 3<<20) + `"],"model":"m"}` + "\n"
	cases := []struct {
		name, in string
		want     []string
	}{
		{"first", initLine, []string{"8f0c8c1e-1111-2222-3333-444455556666/claude-x"}},
		{"after hook lines", `{"type":"system","subtype":"hook_response","x":1}` + "\n" + `{"type":"assistant","message":"` + strings.Repeat("x", 5000) + `"}` + "\n" + initLine,
			[]string{"8f0c8c1e-1111-2222-3333-444455556666/claude-x"}},
		{"no newline at end", strings.TrimSuffix(initLine, "\n"), nil},
		{"not init", `{"type":"system","subtype":"status","session_id":"x"}` + "\n", nil},
		{"init text inside another line", `{"type":"user","text":"{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"evil\"}"}` + "\n", nil},
		{"longer than initMax", long, []string{"aaaa/"}},
		{"two inits", initLine + strings.Replace(initLine, "8f0c", "9f0c", 1), []string{"8f0c8c1e-1111-2222-3333-444455556666/claude-x", "9f0c8c1e-1111-2222-3333-444455556666/claude-x"}},
	}
	for _, c := range cases {
		for _, split := range []int{1, 2, 7, 33, 127, 128, 129, 4096, 1 << 30} {
			got := scanAll(t, c.in, split)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s, split %d: got %q, want %q", c.name, split, got, c.want)
			}
		}
	}
}

func FuzzInitScanner(f *testing.F) {
	f.Add(`{"type":"system","subtype":"init","session_id":"s"}`+"\n", 3)
	f.Fuzz(func(t *testing.T, in string, split int) {
		if split <= 0 {
			split = 1
		}
		a := scanAll(t, in, split)
		b := scanAll(t, in, len(in)+1)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Fatalf("split %d changed the result: %q vs %q", split, a, b)
		}
	})
}
