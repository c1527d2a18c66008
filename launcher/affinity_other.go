//go:build !linux

package launcher

// OneCPU confines the guard's threads to one CPU where that is cheaper
// (Linux); elsewhere it does nothing.
func OneCPU() {}

func withAllCPUs(start func()) { start() }

func unpin() {}
