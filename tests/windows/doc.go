// Package wintest holds the Windows end-to-end tests. They are built with
// GOOS=windows go test -c and run under Wine by tests/windows_test.go (part
// of the Linux suite), or on Windows itself; CLAUDE_GUARD_EXE names the
// claude-guard.exe under test. The test binary is also every helper program
// the runs start (CG_HELPER selects which).
package wintest
