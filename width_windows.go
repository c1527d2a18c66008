package main

import "golang.org/x/sys/windows"

func terminalColumns(fd uintptr) int {
	var info windows.ConsoleScreenBufferInfo
	if windows.GetConsoleScreenBufferInfo(windows.Handle(fd), &info) != nil {
		return 0
	}
	return int(info.Window.Right - info.Window.Left + 1)
}
