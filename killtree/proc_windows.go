package killtree

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows has no numeric uids. A process whose token names the caller's user
// SID gets os.Geteuid() (which is -1 on Windows) as its UID, so the callers'
// comparisons with os.Geteuid() hold; any other, or one whose token cannot be
// read (another user's, an elevated one), gets uidOther.
const uidOther = -2

// Access to read a process's identity: SYNCHRONIZE to tell whether it exited.
const queryAccess = windows.PROCESS_QUERY_LIMITED_INFORMATION | windows.SYNCHRONIZE

var errDenied = errors.New("killtree: access denied")

func bootID() (string, error) {
	// BootTime moves with every change of the wall clock, and BootTimeBias
	// sums those moves: their difference is the boot time as first recorded,
	// the same for the whole boot (the kernel's ETW code computes it so).
	var tod struct {
		BootTime, CurrentTime, TimeZoneBias int64
		TimeZoneID, reserved                uint32
		BootTimeBias, SleepTimeBias         uint64
	}
	err := windows.NtQuerySystemInformation(windows.SystemTimeOfDayInformation,
		unsafe.Pointer(&tod), uint32(unsafe.Sizeof(tod)), nil)
	if err != nil {
		return "", fmt.Errorf("killtree: boot id: %w", err)
	}
	if tod.BootTime <= 0 {
		return "", errors.New("killtree: boot id: no boot time")
	}
	return strconv.FormatInt(tod.BootTime-int64(tod.BootTimeBias), 10), nil
}

// openProcess opens pid, telling a pid that names no process (ErrGone) from
// one we may not open (errDenied).
func openProcess(pid int, access uint32) (windows.Handle, error) {
	if pid <= 0 {
		return 0, ErrGone // 0 is the idle process, never ours
	}
	h, err := windows.OpenProcess(access, false, uint32(pid))
	switch {
	case err == nil:
		return h, nil
	case errors.Is(err, windows.ERROR_INVALID_PARAMETER):
		return 0, ErrGone
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return 0, errDenied
	}
	return 0, fmt.Errorf("killtree: open process %d: %w", pid, err)
}

// describe fills what the handle tells: start time (the creation FILETIME,
// which the kernel stamps once), owner, whether it exited, resident size.
// Windows keeps an exited process's pid and object while any handle to it is
// open; such a process is a Zombie here.
func describe(h windows.Handle, p *Proc) error {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return fmt.Errorf("killtree: process times %d: %w", p.PID, err)
	}
	p.Start = uint64(created.HighDateTime)<<32 | uint64(created.LowDateTime)
	if ev, err := windows.WaitForSingleObject(h, 0); err == nil && ev == windows.WAIT_OBJECT_0 {
		p.Zombie = true
	}
	p.UID = ownerUID(h)
	p.RSS = workingSet(h)
	return nil
}

var currentUser = sync.OnceValues(func() (*windows.Tokenuser, error) {
	return windows.GetCurrentProcessToken().GetTokenUser()
})

func ownerUID(h windows.Handle) int {
	mine, err := currentUser()
	if err != nil {
		return uidOther
	}
	var tok windows.Token
	if windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok) != nil {
		return uidOther
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil || !u.User.Sid.Equals(mine.User.Sid) {
		return uidOther
	}
	return os.Geteuid()
}

// PROCESS_MEMORY_COUNTERS (psapi.h); x/sys/windows does not wrap it.
type processMemoryCounters struct {
	CB                         uint32
	PageFaultCount             uint32
	PeakWorkingSetSize         uintptr
	WorkingSetSize             uintptr
	QuotaPeakPagedPoolUsage    uintptr
	QuotaPagedPoolUsage        uintptr
	QuotaPeakNonPagedPoolUsage uintptr
	QuotaNonPagedPoolUsage     uintptr
	PagefileUsage              uintptr
	PeakPagefileUsage          uintptr
}

var procGetProcessMemoryInfo = windows.NewLazySystemDLL("kernel32.dll").NewProc("K32GetProcessMemoryInfo")

func workingSet(h windows.Handle) uint64 {
	if procGetProcessMemoryInfo.Find() != nil {
		return 0
	}
	var c processMemoryCounters
	c.CB = uint32(unsafe.Sizeof(c))
	ok, _, _ := procGetProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&c)), uintptr(c.CB))
	if ok == 0 {
		return 0
	}
	return uint64(c.WorkingSetSize)
}

// processBasicInformation mirrors PROCESS_BASIC_INFORMATION with addresses
// as uintptr: windows.PROCESS_BASIC_INFORMATION types the PEB address as a Go
// pointer, and an address in another process must never sit in one (the
// garbage collector would follow it).
type processBasicInformation struct {
	ExitStatus                   int32
	PebBaseAddress               uintptr
	AffinityMask                 uintptr
	BasePriority                 int32
	UniqueProcessID              uintptr
	InheritedFromUniqueProcessID uintptr
}

func basicInfo(h windows.Handle) (processBasicInformation, error) {
	var bi processBasicInformation
	err := windows.NtQueryInformationProcess(h, windows.ProcessBasicInformation,
		unsafe.Pointer(&bi), uint32(unsafe.Sizeof(bi)), nil)
	return bi, err
}

func lookup(pid int) (Proc, error) {
	h, err := openProcess(pid, queryAccess)
	if errors.Is(err, errDenied) {
		// It exists, and is not ours to know more about.
		return Proc{ID: ID{PID: pid}, UID: uidOther}, nil
	}
	if err != nil {
		return Proc{}, err
	}
	defer windows.CloseHandle(h)
	p := Proc{ID: ID{PID: pid}}
	if err := describe(h, &p); err != nil {
		return Proc{}, err
	}
	if bi, err := basicInfo(h); err == nil {
		p.PPID = int(bi.InheritedFromUniqueProcessID)
	}
	var buf [1024]uint16
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(h, 0, &buf[0], &n) == nil {
		p.Comm = filepath.Base(windows.UTF16ToString(buf[:n]))
	}
	return p, nil
}

// snapshot lists every process as Toolhelp sees it: pid, parent pid, image
// name. The parent pid is the creator's, never updated: once the creator
// exits, its pid can name an unrelated, younger process.
func snapshot() ([]windows.ProcessEntry32, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("killtree: process snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	var out []windows.ProcessEntry32
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		out = append(out, e)
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return nil, fmt.Errorf("killtree: process snapshot: %w", err)
	}
	return out, nil
}

func all() ([]Proc, error) {
	es, err := snapshot()
	if err != nil {
		return nil, err
	}
	out := make([]Proc, 0, len(es))
	for _, e := range es {
		p := Proc{ID: ID{PID: int(e.ProcessID)}, PPID: int(e.ParentProcessID), UID: uidOther,
			Comm: windows.UTF16ToString(e.ExeFile[:])}
		h, err := openProcess(p.PID, queryAccess)
		switch {
		case errors.Is(err, ErrGone):
			continue
		case err == nil:
			derr := describe(h, &p)
			windows.CloseHandle(h)
			if derr != nil {
				continue
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// children lists the processes pid created that are younger than it: an
// older one naming pid as its parent was created by an earlier process that
// had the same pid.
func children(pid int) ([]int, error) {
	parent, err := lookup(pid)
	if err != nil {
		return nil, err
	}
	if parent.Start == 0 {
		return nil, errDenied
	}
	es, err := snapshot()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range es {
		if int(e.ParentProcessID) != pid || int(e.ProcessID) == pid {
			continue
		}
		if k, err := lookup(int(e.ProcessID)); err == nil && k.Start >= parent.Start {
			out = append(out, k.PID)
		}
	}
	return out, nil
}

// pinned is a process handle: a pid is not reused while a handle to its
// process is open, so the identity read from it and the termination through
// it are of one process.
type pinned struct {
	pid int
	h   windows.Handle
}

// pin opens the process to end it with TerminateProcess, the only way
// Windows has to end another process: other signals are refused.
func pin(pid int, sig syscall.Signal) (pinned, error) {
	if sig != syscall.SIGKILL {
		return pinned{}, fmt.Errorf("killtree: signal %v: %w (Windows ends processes only with TerminateProcess, as SIGKILL)", sig, errors.ErrUnsupported)
	}
	h, err := openProcess(pid, queryAccess|windows.PROCESS_TERMINATE)
	switch {
	case errors.Is(err, errDenied):
		return pinned{}, ErrNotOurs
	case err != nil:
		return pinned{}, err
	}
	return pinned{pid: pid, h: h}, nil
}

func (t pinned) proc() (Proc, error) {
	p := Proc{ID: ID{PID: t.pid}}
	err := describe(t.h, &p)
	return p, err
}

func (t pinned) send(syscall.Signal) error {
	if err := windows.TerminateProcess(t.h, 1); err != nil {
		// Terminating a process that is already exiting is refused.
		if ev, werr := windows.WaitForSingleObject(t.h, 0); werr == nil && ev == windows.WAIT_OBJECT_0 {
			return ErrGone
		}
		return fmt.Errorf("killtree: terminate %d: %w", t.pid, err)
	}
	return nil
}

func (t pinned) close() { windows.CloseHandle(t.h) }

func environ(pid int) ([]byte, error) {
	var env []byte
	err := withParams(pid, func(h windows.Handle, params uintptr) error {
		var err error
		env, err = readEnvironment(h, params)
		return err
	})
	return env, err
}

func cmdline(pid int) []string {
	var args []string
	_ = withParams(pid, func(h windows.Handle, params uintptr) error {
		line, err := readUnicodeString(h, params+unsafe.Offsetof(windows.RTL_USER_PROCESS_PARAMETERS{}.CommandLine))
		if err == nil {
			args, err = windows.DecomposeCommandLine(line)
		}
		return err
	})
	return args
}

func cwd(pid int) string {
	var dir string
	_ = withParams(pid, func(h windows.Handle, params uintptr) error {
		off := unsafe.Offsetof(windows.RTL_USER_PROCESS_PARAMETERS{}.CurrentDirectory) +
			unsafe.Offsetof(windows.CURDIR{}.DosPath)
		d, err := readUnicodeString(h, params+off)
		if len(d) > 3 { // keep the separator of a root such as C:\
			d = strings.TrimSuffix(d, `\`)
		}
		dir = d
		return err
	})
	return dir
}

// withParams opens pid for reading its memory and calls f with the address
// of its RTL_USER_PROCESS_PARAMETERS, found through its PEB. Every address
// read from the other process stays a uintptr, and every read of its memory
// goes through ReadProcessMemory, which fails cleanly on a bad address. A
// 32-bit (WOW64) process has a 64-bit PEB too, which is the one read here.
func withParams(pid int, f func(h windows.Handle, params uintptr) error) error {
	h, err := openProcess(pid, windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_VM_READ)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	bi, err := basicInfo(h)
	if err != nil {
		return fmt.Errorf("killtree: process information %d: %w", pid, err)
	}
	if bi.PebBaseAddress == 0 {
		return fmt.Errorf("killtree: process %d has no PEB", pid)
	}
	var params uintptr
	if err := readMemory(h, bi.PebBaseAddress+unsafe.Offsetof(windows.PEB{}.ProcessParameters), asBytes(&params)); err != nil {
		return fmt.Errorf("killtree: read PEB of %d: %w", pid, err)
	}
	if params == 0 {
		return fmt.Errorf("killtree: process %d has no parameters", pid)
	}
	return f(h, params)
}

// maxEnvironment bounds what is read of one environment block.
const maxEnvironment = 4 << 20

// readEnvironment reads the environment block (NUL-terminated UTF-16
// strings, then an empty one) and returns it as Linux's /proc/<pid>/environ
// has it: UTF-8, each string NUL-terminated.
func readEnvironment(h windows.Handle, params uintptr) ([]byte, error) {
	var env, size uintptr
	if err := readMemory(h, params+unsafe.Offsetof(windows.RTL_USER_PROCESS_PARAMETERS{}.Environment), asBytes(&env)); err != nil {
		return nil, err
	}
	if err := readMemory(h, params+unsafe.Offsetof(windows.RTL_USER_PROCESS_PARAMETERS{}.EnvironmentSize), asBytes(&size)); err != nil {
		return nil, err
	}
	if env == 0 || size < 4 || size > maxEnvironment {
		return nil, fmt.Errorf("killtree: environment of size %d", size)
	}
	block := make([]uint16, size/2)
	if err := readMemory(h, env, unsafe.Slice((*byte)(unsafe.Pointer(&block[0])), len(block)*2)); err != nil {
		return nil, err
	}
	var out []byte
	for len(block) > 0 && block[0] != 0 {
		end := 0
		for end < len(block) && block[end] != 0 {
			end++
		}
		out = append(out, windows.UTF16ToString(block[:end])...)
		out = append(out, 0)
		block = block[min(end+1, len(block)):]
	}
	return out, nil
}

// unicodeString mirrors UNICODE_STRING with the buffer address as uintptr.
type unicodeString struct {
	Length, MaximumLength uint16
	Buffer                uintptr
}

func readUnicodeString(h windows.Handle, addr uintptr) (string, error) {
	var us unicodeString
	if err := readMemory(h, addr, asBytes(&us)); err != nil {
		return "", err
	}
	if us.Length == 0 || us.Buffer == 0 {
		return "", nil
	}
	buf := make([]uint16, us.Length/2)
	if err := readMemory(h, us.Buffer, unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*2)); err != nil {
		return "", err
	}
	return windows.UTF16ToString(buf), nil
}

// asBytes views a value holding no Go pointers as its bytes, to be filled by
// ReadProcessMemory.
func asBytes[T uintptr | unicodeString](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func readMemory(h windows.Handle, addr uintptr, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	var n uintptr
	if err := windows.ReadProcessMemory(h, addr, &buf[0], uintptr(len(buf)), &n); err != nil {
		return fmt.Errorf("killtree: read process memory: %w", err)
	}
	if n != uintptr(len(buf)) {
		return errors.New("killtree: short read of process memory")
	}
	return nil
}
