//go:build !linux

package reaper

import "runtime"

func containment() []Mechanism {
	no := func(name string) Mechanism { return Mechanism{Name: name, Detail: "linux only"} }
	job := Mechanism{Name: "job objects", Detail: "windows only"}
	if runtime.GOOS == "windows" {
		job = Mechanism{Name: "job objects", Available: true, Detail: "the whole tree dies with the guard"}
	}
	return []Mechanism{no("subreaper"), no("pdeathsig"), no("pidfd"), no("cgroup v2"), job}
}
