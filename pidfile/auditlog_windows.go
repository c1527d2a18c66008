package pidfile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// openAppend opens the audit log for appending, creating it: never through a
// link, only a regular file. It shares delete access, as every registry
// file does: a log held open by another writer or by log --follow can
// still be rotated (renamed) by the writer that finds it full.
func openAppend(path string) (*os.File, error) {
	f, err := openShared(path, windows.FILE_APPEND_DATA|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE, windows.OPEN_ALWAYS)
	if err != nil {
		return nil, err
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &info); err != nil ||
		info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		f.Close()
		return nil, &BadFileError{Path: path, Err: errors.New("not a regular file")}
	}
	return f, nil
}
