package pidfile

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// lookupHome finds uid's home directory in /etc/passwd. Not os/user: with a
// C compiler at hand it links the binary against libc through cgo, and then
// every guard and every watchdog pays the dynamic loader and the cgo runtime's
// start (about 1 ms of CPU each on a 2-core VM). Binaries built with
// CGO_ENABLED=0, the released ones, read only /etc/passwd either way.
func lookupHome(uid int) (string, error) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", err
	}
	return homeFromPasswd(b, uid)
}

// homeFromPasswd returns the home directory (sixth field) of the first
// line of a passwd(5) file whose uid (third field) is uid.
func homeFromPasswd(b []byte, uid int) (string, error) {
	want := []byte(strconv.Itoa(uid))
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := bytes.Split(line, []byte(":"))
		if len(f) >= 7 && bytes.Equal(f[2], want) {
			return string(f[5]), nil
		}
	}
	return "", fmt.Errorf("pidfile: uid %d not in /etc/passwd", uid)
}
