package launcher

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// overlappedPipe returns a pipe for the child's stdout whose read end takes
// deadlines: os.Pipe's do not on Windows (synchronous handles), and the
// guard must stop reading when a descendant kept alive holds the write end.
// The read end is a named pipe opened for overlapped I/O, which os.NewFile
// puts on the runtime's poller; the write end, the child's, is an ordinary
// synchronous handle. No other process can write into it: the pipe has one
// instance, taken by the write end at once, and the default DACL lets only
// this user, SYSTEM and administrators open it for writing.
func overlappedPipe(runID string) (r, w *os.File, err error) {
	name, err := windows.UTF16PtrFromString(fmt.Sprintf(`\\.\pipe\claude-guard-%d-%s`, os.Getpid(), runID))
	if err != nil {
		return nil, nil, err
	}
	rh, err := windows.CreateNamedPipe(name,
		windows.PIPE_ACCESS_INBOUND|windows.FILE_FLAG_OVERLAPPED|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		1, 256<<10, 256<<10, 0, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("create named pipe: %w", err)
	}
	wh, err := windows.CreateFile(name, windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		windows.CloseHandle(rh)
		return nil, nil, fmt.Errorf("open named pipe: %w", err)
	}
	return os.NewFile(uintptr(rh), "|0"), os.NewFile(uintptr(wh), "|1"), nil
}
