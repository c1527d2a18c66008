//go:build !unix

package pidfile

import (
	"fmt"
	"io"
)

// readPrivate reads a registry file whole, with openPrivate's checks, and at
// most limit+1 bytes (more than limit: too large).
func readPrivate(path string, limit int, _ []byte) ([]byte, error) {
	f, err := openPrivate(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("pidfile: read %s: %w", path, err)
	}
	return b, nil
}
