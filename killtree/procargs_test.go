package killtree

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// kernProcargs2 lays out a buffer the way the macOS kernel does: argc, the
// executable path, NUL padding to 8-byte alignment of the string area (pad
// more when extra > 0), the arguments, the environment, the apple strings.
func kernProcargs2(argc int32, exec string, extra int, argv, env, apple []string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, argc)
	b.WriteString(exec)
	b.WriteByte(0)
	for (b.Len()-4)%8 != 0 || extra > 0 {
		if (b.Len()-4)%8 == 0 {
			extra--
		}
		b.WriteByte(0)
	}
	for _, group := range [][]string{argv, env, apple} {
		for _, s := range group {
			b.WriteString(s)
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}

func TestParseProcargs(t *testing.T) {
	env := []string{"HOME=/Users/me", "CLAUDE_GUARD_RUN=0190a1b2c3d4deadbeef", "EMPTY="}
	apple := []string{"executable_path=/usr/local/bin/claude", "ptr_munge=", "main_stack="}
	cases := []struct {
		name     string
		buf      []byte
		wantArgv []string
		wantEnv  []string
		wantErr  bool
	}{
		{"ordinary", kernProcargs2(3, "/usr/local/bin/claude", 0, []string{"claude", "-p", "hi there"}, env, apple),
			[]string{"claude", "-p", "hi there"}, append(slices.Clone(env), apple...), false},
		{"path already aligned", kernProcargs2(1, "/bin/sh", 0, []string{"sh"}, env, nil),
			[]string{"sh"}, env, false},
		{"long padding", kernProcargs2(2, "/x", 3, []string{"x", "y"}, nil, nil),
			[]string{"x", "y"}, nil, false},
		{"empty arguments after the first", kernProcargs2(4, "/bin/echo", 0, []string{"echo", "", "a", ""}, env, nil),
			[]string{"echo", "", "a", ""}, env, false},
		{"environment withheld (another user)", kernProcargs2(2, "/usr/sbin/cron", 0, []string{"cron", "-s"}, nil, nil),
			[]string{"cron", "-s"}, nil, false},
		{"zero arguments", kernProcargs2(0, "/sbin/launchd", 0, nil, env, nil),
			[]string{}, env, false},
		{"trailing NUL padding", append(kernProcargs2(1, "/a", 0, []string{"a"}, env, nil), 0, 0, 0, 0),
			[]string{"a"}, env, false},
		{"argv cut short", kernProcargs2(3, "/bin/ls", 0, []string{"ls", "-l"}, nil, nil), nil, nil, true},
		{"negative argc", kernProcargs2(-1, "/bin/ls", 0, []string{"ls"}, nil, nil), nil, nil, true},
		{"argc beyond the buffer", kernProcargs2(1<<30, "/bin/ls", 0, []string{"ls"}, nil, nil), nil, nil, true},
		{"no terminator after the path", append([]byte{1, 0, 0, 0}, "/bin/ls"...), nil, nil, true},
		{"shorter than argc", []byte{1, 0}, nil, nil, true},
		{"empty", nil, nil, nil, true},
	}
	for _, c := range cases {
		pa, err := parseProcargs(c.buf)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v, want error %v", c.name, err, c.wantErr)
			continue
		}
		if c.wantErr {
			continue
		}
		if !slices.Equal(pa.argv, c.wantArgv) {
			t.Errorf("%s: argv = %q, want %q", c.name, pa.argv, c.wantArgv)
		}
		if !slices.Equal(pa.env, c.wantEnv) {
			t.Errorf("%s: env = %q, want %q", c.name, pa.env, c.wantEnv)
		}
	}
}

func TestProcargsEnviron(t *testing.T) {
	buf := kernProcargs2(1, "/usr/local/bin/claude", 0, []string{"claude"},
		[]string{"CLAUDE_GUARD_RUN=outer:0190a1b2c3d4deadbeef", "PATH=/bin"}, []string{"ptr_munge="})
	pa, err := parseProcargs(buf)
	if err != nil {
		t.Fatal(err)
	}
	env := environBytes(pa.env)
	if v, _ := envLookup(env, "CLAUDE_GUARD_RUN"); v != "outer:0190a1b2c3d4deadbeef" {
		t.Errorf("cookie not found in %q", env)
	}
	if v, ok := envLookup(env, "PATH"); !ok || v != "/bin" {
		t.Errorf("PATH = %q, %v", v, ok)
	}
	if _, ok := envLookup(env, "claude"); ok {
		t.Error("an argument was taken for an environment entry")
	}
}

func FuzzParseProcargs(f *testing.F) {
	f.Add(kernProcargs2(2, "/usr/local/bin/claude", 0, []string{"claude", "-p"}, []string{"A=1"}, []string{"ptr_munge="}))
	f.Add(kernProcargs2(0, "/x", 2, nil, nil, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, '/', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pa, err := parseProcargs(b)
		if err != nil {
			return
		}
		argc := int(int32(binary.LittleEndian.Uint32(b)))
		if len(pa.argv) != argc {
			t.Fatalf("argc %d, parsed %d arguments", argc, len(pa.argv))
		}
		for _, s := range append(append([]string{pa.exec}, pa.argv...), pa.env...) {
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("NUL inside %q", s)
			}
		}
		for _, s := range pa.env {
			if s == "" {
				t.Fatal("empty environment string")
			}
		}
		// What the kernel would lay out for the parsed result parses back
		// to it, unless argv[0] is empty (it reads as padding).
		if len(pa.argv) > 0 && pa.argv[0] == "" {
			return
		}
		again, err := parseProcargs(kernProcargs2(int32(argc), pa.exec, 0, pa.argv, pa.env, nil))
		if err != nil || again.exec != pa.exec || !slices.Equal(again.argv, pa.argv) || !slices.Equal(again.env, pa.env) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, pa)
		}
	})
}
