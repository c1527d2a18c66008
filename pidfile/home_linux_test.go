package pidfile

import "testing"

func TestHomeFromPasswd(t *testing.T) {
	passwd := []byte("# comment\nroot:x:0:0:root:/root:/bin/bash\n\nbad:line\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n" +
		"alias:x:1000:1000::/home/alias:/bin/sh")
	for _, c := range []struct {
		uid  int
		home string
		ok   bool
	}{{0, "/root", true}, {1000, "/home/alice", true}, {1, "/usr/sbin", true}, {10, "", false}, {100, "", false}} {
		home, err := homeFromPasswd(passwd, c.uid)
		if (err == nil) != c.ok || home != c.home {
			t.Errorf("uid %d: got %q, %v; want %q (found: %v)", c.uid, home, err, c.home, c.ok)
		}
	}
	// The real file: root is there on every Linux system.
	if home, err := lookupHome(0); err != nil || home == "" {
		t.Errorf("lookupHome(0): %q, %v", home, err)
	}
}
