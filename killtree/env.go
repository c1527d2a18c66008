package killtree

import "strings"

// EnvValues returns the values of keys in the environment of pid, read and
// split once ("" for a key that is not set).
func EnvValues(pid int, keys ...string) []string {
	out := make([]string, len(keys))
	env, err := environ(pid)
	if err != nil {
		return out
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for i, key := range keys {
			if k == key && out[i] == "" {
				out[i] = v
			}
		}
	}
	return out
}
