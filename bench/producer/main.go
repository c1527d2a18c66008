//go:build linux

// Command producer stands in for claude -p --output-format stream-json: it
// ignores its arguments and writes BENCH_BYTES bytes (default 1 GiB) of NDJSON
// to stdout, an init line first, then assistant-like lines of about 1 KiB,
// in writes of up to 64 KiB.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	total := int64(1 << 30)
	if s := os.Getenv("BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "producer: bad BENCH_BYTES")
			os.Exit(2)
		}
		total = n
	}
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	init := `{"type":"system","subtype":"init","session_id":"0b4a7c5e-3f0e-4d8e-9c55-0a1b2c3d4e5f","model":"claude-bench","cwd":"/tmp","tools":["Bash"]}` + "\n"
	line := `{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"` +
		strings.Repeat("lorem ipsum ", 80) + `"}]},"session_id":"0b4a7c5e-3f0e-4d8e-9c55-0a1b2c3d4e5f"}` + "\n"
	written, _ := w.WriteString(init)
	left := total - int64(written)
	for left > 0 {
		l := line
		if int64(len(l)) > left {
			l = l[len(l)-int(left):] // the last line, cut to land exactly on total
		}
		n, err := w.WriteString(l)
		if err != nil {
			os.Exit(1) // reader gone
		}
		left -= int64(n)
	}
	if w.Flush() != nil {
		os.Exit(1)
	}
}
