//go:build !linux

package launcher

import "errors"

// parentIsGuard needs /proc: elsewhere only the depth bound applies.
func parentIsGuard() bool { return false }

func execClaude(path string, argv []string) error { return errors.ErrUnsupported }
