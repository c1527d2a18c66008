package killtree

// EnvValues returns the values of keys in the environment of pid, read once
// ("" for a key that is not set).
func EnvValues(pid int, keys ...string) []string {
	out := make([]string, len(keys))
	env, err := environ(pid)
	if err != nil {
		return out
	}
	for i, k := range keys {
		out[i], _ = envLookup(env, k)
	}
	return out
}
