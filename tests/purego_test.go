//go:build linux

package tests

import (
	"debug/elf"
	"strings"
	"testing"
)

// The guard is built as users build it (go build, a C compiler present) and
// must still be pure Go: a binary linked against libc through cgo starts
// the dynamic loader on every launch and on every watcher start, and
// cross-builds and go install must not need a C toolchain. Importing net
// (or os/user) is what turns cgo on.
func TestBinaryIsPureGo(t *testing.T) {
	f, err := elf.Open(guardBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the guard is dynamically linked (a package pulled in cgo: net or os/user?)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the guard links against %v", libs)
	}
}

// Nor does it link Go's crypto packages: crypto/rand or crypto/sha256 bring
// in the FIPS module, whose package inits every launch pays (50-70 µs).
// Nothing the guard does needs a secret or a cryptographic hash.
func TestBinaryLinksNoCrypto(t *testing.T) {
	f, err := elf.Open(guardBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Skipf("no symbol table: %v", err)
	}
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "crypto/") {
			t.Fatalf("the guard links %s", s.Name)
		}
	}
}
