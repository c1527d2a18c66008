//go:build !windows

package launcher

var claudeNames = []string{"claude"}
