//go:build linux

// Command hop copies stdin to stdout, as any interposer on a stream must: the
// benchmark's reference for what one extra pipe hop costs. "hop rw" copies
// through a user-space buffer (read, write), as the guard does; "hop splice"
// moves pages between the pipes with splice(2), never copying them to user
// space.
package main

import (
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "splice" {
		for {
			n, err := unix.Splice(0, nil, 1, nil, 1<<20, unix.SPLICE_F_MOVE)
			if n <= 0 || err != nil {
				return
			}
		}
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			if _, werr := os.Stdout.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
