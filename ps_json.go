package main

import (
	"bytes"
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
	chunks := make([]bytes.Buffer, n)
	errs := make([]error, n)
	per := (len(rows) + n - 1) / n
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		lo, hi := min(c*per, len(rows)), min((c+1)*per, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One encoder per chunk reuses its buffers from row to row.
			buf := &chunks[c]
			buf.Grow((hi - lo) * 640)
			enc := json.NewEncoder(buf)
			enc.SetIndent("  ", "  ")
			for i := lo; i < hi; i++ {
				if i > 0 {
					buf.WriteString(",\n")
				}
				buf.WriteString("  ")
				if err := enc.Encode(&rows[i]); err != nil {
					errs[c] = err
					return
				}
				buf.Truncate(buf.Len() - 1) // the newline Encode ends with
			}
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
		if _, err := w.Write(chunks[c].Bytes()); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}
