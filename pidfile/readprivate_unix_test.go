//go:build unix

package pidfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// readPrivate reads a file whole, through the buffer it is given when that
// has room, and at most limit+1 bytes of a larger one.
func TestReadPrivate(t *testing.T) {
	dir := t.TempDir()
	buf := make([]byte, 0, 4096)
	for _, size := range []int{0, 1, 100, 511, 512, 513, 4000, 5000, 70000} {
		data := bytes.Repeat([]byte("x"), size)
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readPrivate(path, 1<<20, buf)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read %d bytes, %v", size, len(got), err)
		}
		if size+513 <= cap(buf) && &got[:1][0] != &buf[:1][0] {
			t.Errorf("size %d: not read into the buffer given", size)
		}
		got, err = readPrivate(path, 50, nil)
		if want := min(size, 51); err != nil || len(got) != want {
			t.Fatalf("size %d, limit 50: read %d bytes (want %d), %v", size, len(got), want, err)
		}
	}
}
