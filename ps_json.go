package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
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
	chunks := make([]bytes.Buffer, n)
	errs := make([]error, n)
	per := (len(rows) + n - 1) / n
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		lo, hi := min(c*per, len(rows)), min((c+1)*per, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := &chunks[c]
			for i := lo; i < hi; i++ {
				b, err := json.MarshalIndent(&rows[i], "  ", "  ")
				if err != nil {
					errs[c] = err
					return
				}
				if i > 0 {
					buf.WriteString(",\n")
				}
				buf.WriteString("  ")
				buf.Write(b)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	bufs := make([][]byte, 0, n+2)
	bufs = append(bufs, []byte("[\n"))
	for c := range chunks {
		bufs = append(bufs, chunks[c].Bytes())
	}
	bufs = append(bufs, []byte("\n]\n"))
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(w)
	return err
}
