//go:build unix && !linux

package pidfile

import (
	"os/user"
	"strconv"
)

// lookupHome asks the user database for uid's home directory (on macOS
// through libSystem, without cgo).
func lookupHome(uid int) (string, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}
