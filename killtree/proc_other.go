//go:build !linux && !darwin && !windows

package killtree

import (
	"errors"
	"syscall"
)

func bootID() (string, error)         { return "", errors.ErrUnsupported }
func lookup(pid int) (Proc, error)    { return Proc{}, errors.ErrUnsupported }
func all() ([]Proc, error)            { return nil, errors.ErrUnsupported }
func children(pid int) ([]int, error) { return nil, errors.ErrUnsupported }
func environ(pid int) ([]byte, error) { return nil, errors.ErrUnsupported }
func cmdline(pid int) []string        { return nil }
func cwd(pid int) string              { return "" }

type pinned struct{}

func pin(int, syscall.Signal) (pinned, error) { return pinned{}, errors.ErrUnsupported }
func (pinned) proc() (Proc, error)            { return Proc{}, errors.ErrUnsupported }
func (pinned) send(syscall.Signal) error      { return errors.ErrUnsupported }
func (pinned) close()                         {}
