package main

import (
	"encoding/json"
	"io"
	"runtime"
	"sync"

	"github.com/claude-guard/claude-guard/reaper"
)

// writeRowsJSON writes rows exactly as writeJSON does (an array indented by
// two spaces, then a newline), encoding the rows side by side in a few
// chunks: with thousands of runs, ps spends much of its time here.
func writeRowsJSON(w io.Writer, rows []reaper.Row) error {
	if len(rows) < 256 {
		return writeJSON(w, rows)
	}
	n := min(runtime.GOMAXPROCS(0), 4)
	chunks := make([][]byte, n)
	errs := make([]error, n)
	per := (len(rows) + n - 1) / n
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		lo, hi := min(c*per, len(rows)), min((c+1)*per, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, (hi-lo)*640)
			for i := lo; i < hi; i++ {
				b, err := json.Marshal(&rows[i])
				if err != nil {
					errs[c] = err
					return
				}
				if i > 0 {
					buf = append(buf, ",\n"...)
				}
				buf = indent(append(buf, "  "...), b, "  ")
			}
			chunks[c] = buf
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// One write per chunk; net.Buffers would do it in one writev, but
	// importing net links the guard against libc through cgo.
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for c := range chunks {
		if _, err := w.Write(chunks[c]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}

// indent appends src, compact JSON as json.Marshal writes it, to dst as
// json.Indent(dst, src, prefix, "  ") would, in one pass without its general
// scanner: it only has to find the strings, brackets, commas and colons of
// well-formed input.
func indent(dst, src []byte, prefix string) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range depth {
			dst = append(dst, "  "...)
		}
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			j := i + 1
			for ; src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
