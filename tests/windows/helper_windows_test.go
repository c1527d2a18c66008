package wintest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The helper programs, chosen by CG_HELPER:
//
//	exit N          exit with status N
//	cat             copy stdin to stdout, then the same bytes to stderr
//	tree DIR [how]  start a sleeper (DIR\gc.pid), write DIR\child.pid, wait
//	                for DIR\go, exit 3; how is "breakaway" (the sleeper asks to
//	                leave the job) or "ownjob" (the helper first puts itself in
//	                a job of its own that allows silent breakaway, as libuv does)
//	sleep FILE      write its pid to FILE and sleep until killed
//	init SID DIR    print a stream-json init line with session id SID, wait
//	                for DIR\go, exit 0
//	cookie FILE     write the run cookie it got to FILE, exit 9
func helper(mode string, args []string) int {
	switch mode {
	case "exit":
		n, _ := strconv.Atoi(args[0])
		return n
	case "cat":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return 1
		}
		os.Stdout.Write(b)
		os.Stderr.Write(b)
		return 0
	case "tree":
		return tree(args[0], args[1:])
	case "sleep":
		if err := writeFile(args[0], strconv.Itoa(os.Getpid())); err != nil {
			return 1
		}
		for {
			time.Sleep(time.Hour) // select{} would be a deadlock to the runtime
		}
	case "init":
		fmt.Printf(`{"type":"system","subtype":"init","session_id":%q,"model":"test"}`+"\n", args[0])
		waitFor(args[1] + `\go`)
		return 0
	case "cookie":
		if err := writeFile(args[0], os.Getenv("CLAUDE_GUARD_RUN")); err != nil {
			return 1
		}
		return 9
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
	return 2
}

func tree(dir string, how []string) int {
	var flags uint32
	for _, h := range how {
		switch h {
		case "breakaway":
			flags |= windows.CREATE_BREAKAWAY_FROM_JOB
		case "ownjob":
			if err := joinOwnJob(); err != nil {
				writeFile(dir+`\ownjob.err`, err.Error())
				return 1
			}
		}
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CG_HELPER=sleep", "CG_ARGS="+dir+`\gc.pid`)
	cmd.Stdout = os.Stdout // a kept sleeper holds the guard's stdout pipe
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags}
	if err := cmd.Start(); err != nil {
		writeFile(dir+`\start.err`, err.Error())
		return 1
	}
	waitFor(dir + `\gc.pid`)
	writeFile(dir+`\child.pid`, strconv.Itoa(os.Getpid()))
	waitFor(dir + `\go`)
	return 3
}

// joinOwnJob puts this process in a new job that lets its children leave it
// silently: the job libuv (node) makes for the processes it spawns.
func joinOwnJob() error {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return err
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK | windows.JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		return err
	}
	return windows.AssignProcessToJobObject(h, windows.CurrentProcess())
}

// writeFile writes through a temporary name, so a reader never sees half.
func writeFile(path, content string) error {
	if err := os.WriteFile(path+".tmp", []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// waitFor waits for a file another process makes.
func waitFor(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
