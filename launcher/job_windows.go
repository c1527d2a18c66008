package launcher

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/claude-guard/claude-guard/killtree"
)

// job is the run's job object. It kills every process in it when its last
// handle closes (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), and only the guard
// holds a handle, not inheritable: whenever the guard dies, however it dies,
// the kernel closes the handle and ends the run. Breakaway is not allowed, so
// no process of the run can create a child outside it.
type job struct {
	h windows.Handle
}

func newJob() (*job, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	j := &job{h: h}
	if err := j.setKillOnClose(true); err != nil {
		j.close()
		return nil, err
	}
	return j, nil
}

func (j *job) setKillOnClose(on bool) error {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if on {
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	}
	_, err := windows.SetInformationJobObject(j.h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	if err != nil {
		return fmt.Errorf("set job object limits: %w", err)
	}
	return nil
}

// assign puts process pid in the job. A process already in a job that does
// not allow nesting is refused (ERROR_ACCESS_DENIED).
func (j *job) assign(pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(j.h, h); err != nil {
		return fmt.Errorf("assign process %d to the job object: %w", pid, err)
	}
	return nil
}

// members returns the processes in the job but the guard itself: also those
// whose parent died, which no parent link leads to any more.
func (j *job) members() []killtree.ID {
	const max = 4096
	var list struct {
		assigned, listed uint32
		pids             [max]uintptr
	}
	err := windows.QueryInformationJobObject(j.h, windows.JobObjectBasicProcessIdList,
		uintptr(unsafe.Pointer(&list)), uint32(unsafe.Sizeof(list)), nil)
	if err != nil && !errors.Is(err, windows.ERROR_MORE_DATA) {
		return nil
	}
	var ids []killtree.ID
	for _, pid := range list.pids[:min(list.listed, max)] {
		if int(pid) == os.Getpid() {
			continue
		}
		if p, err := killtree.Lookup(int(pid)); err == nil && !p.Zombie && p.Start != 0 {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func (j *job) close() { windows.CloseHandle(j.h) }

// resume starts the threads of a process created suspended: the one thread
// CreateProcess made. os.StartProcess closes the thread handle it gets, so
// the thread is found again in a Toolhelp snapshot.
func resume(pid int) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("thread snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	resumed := 0
	e := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	for err = windows.Thread32First(snap, &e); err == nil; err = windows.Thread32Next(snap, &e) {
		if int(e.OwnerProcessID) != pid {
			continue
		}
		t, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, e.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", e.ThreadID, err)
		}
		_, err = windows.ResumeThread(t)
		windows.CloseHandle(t)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", e.ThreadID, err)
		}
		resumed++
	}
	if resumed == 0 {
		return fmt.Errorf("no thread of process %d to resume", pid)
	}
	return nil
}
