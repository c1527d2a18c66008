package killtree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// procargs is a macOS KERN_PROCARGS2 buffer taken apart. The kernel lays it
// out as a 32-bit argc, the executable path and its NUL terminator, NUL
// padding to pointer alignment, argc NUL-terminated arguments, then the
// environment's NUL-terminated strings, and last the "apple" strings
// (executable_path=…, ptr_munge=…) that look just like environment entries.
// The kernel returns the environment only to the process's own user.
//
// The parser lives outside the darwin file so it is tested (and fuzzed) on
// every system.
type procargs struct {
	exec string
	argv []string
	env  []string // may end with the apple strings
}

var errProcargs = errors.New("killtree: malformed procargs")

// maxArgc bounds argc before anything is allocated for it; the kernel's own
// limit (kern.argmax) is far below what one buffer could hold anyway.
const maxArgc = 1 << 20

// parseProcargs parses a KERN_PROCARGS2 buffer. Every Mac is little-endian.
// An empty argv[0] cannot be told from the padding before it and is skipped
// with it, as ps does.
func parseProcargs(b []byte) (procargs, error) {
	if len(b) < 4 {
		return procargs{}, errProcargs
	}
	argc := int64(int32(binary.LittleEndian.Uint32(b)))
	if argc < 0 || argc > maxArgc || argc > int64(len(b)) {
		return procargs{}, errProcargs
	}
	b = b[4:]
	end := bytes.IndexByte(b, 0)
	if end < 0 {
		return procargs{}, errProcargs
	}
	pa := procargs{exec: string(b[:end]), argv: make([]string, 0, argc)}
	b = bytes.TrimLeft(b[end:], "\x00")
	for len(pa.argv) < int(argc) {
		end := bytes.IndexByte(b, 0)
		if end < 0 {
			// The buffer was cut short inside argv.
			return procargs{}, errProcargs
		}
		pa.argv = append(pa.argv, string(b[:end]))
		b = b[end+1:]
	}
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			pa.env = append(pa.env, s)
		}
	}
	return pa, nil
}

// environBytes joins env the way Linux's /proc/<pid>/environ has it: each
// string NUL-terminated.
func environBytes(env []string) []byte {
	var buf bytes.Buffer
	for _, kv := range env {
		buf.WriteString(kv)
		buf.WriteByte(0)
	}
	return buf.Bytes()
}
