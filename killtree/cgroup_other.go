//go:build !linux

package killtree

import (
	"errors"
	"time"
)

// cgroups are Linux's: elsewhere every call says so, and callers fall back
// on the process group, the cookie and the recorded tree.

func cgroupMount() (string, error)            { return "", errors.ErrUnsupported }
func ownCgroup() (string, error)              { return "", errors.ErrUnsupported }
func procCgroup(string) (string, error)       { return "", errors.ErrUnsupported }
func cgroupUsable() (string, error)           { return "", errors.ErrUnsupported }
func newCgroup(string) (*Cgroup, error)       { return nil, errors.ErrUnsupported }
func checkCgroupDir(string) error             { return errors.ErrUnsupported }
func (c *Cgroup) fd() (int, error)            { return -1, errors.ErrUnsupported }
func (c *Cgroup) procs() []ID                 { return nil }
func (c *Cgroup) has(int) (bool, error)       { return false, errors.ErrUnsupported }
func (c *Cgroup) populated() bool             { return false }
func (c *Cgroup) kill() error                 { return errors.ErrUnsupported }
func (c *Cgroup) remove() error               { return errors.ErrUnsupported }
func (c *Cgroup) stats() (CgroupStats, error) { return CgroupStats{}, errors.ErrUnsupported }
func (c *Cgroup) move(int) error              { return errors.ErrUnsupported }

func removeEmptyCgroups(time.Duration) int { return 0 }
