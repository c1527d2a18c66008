package launcher

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The guard's CPUs. A guard mostly waits, and at a launch and at the end of
// a run its threads hand work to each other (each signal registration is a
// round trip to the Go runtime's signal thread, the wait loop's thread
// reports the child's start and end): when the other thread sleeps on
// another CPU, waking it costs an interrupt to that CPU, 50 to 150 µs in a
// VM. OneCPU keeps the guard's own threads on the CPU it started on, where
// each hand-off is a switch. A guard that copies the command's stdout
// (stream-json) streams faster on two: unpin gives them back once the
// command is started. What the guard starts gets the CPUs the guard was
// given.
var cpus struct {
	mu      sync.Mutex
	pinned  bool        // the guard's threads are on current
	given   unix.CPUSet // the guard's CPUs when it started
	current unix.CPUSet // the one CPU its threads run on
	procs   int         // GOMAXPROCS before OneCPU
}

// OneCPU confines the guard's threads, those there now and those they
// start, to the CPU it runs on. It is called once, before the guard starts
// any goroutine; a thread it misses only runs where it could before.
func OneCPU() {
	if unix.SchedGetaffinity(0, &cpus.given) != nil || cpus.given.Count() < 2 {
		return
	}
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return
	}
	cpus.current.Set(int(cpu))
	cpus.pinned = setThreads(&cpus.current)
	if cpus.pinned {
		// One CPU, one P: with two, the runtime wakes a second thread
		// for a goroutine made runnable, which can only take turns with
		// the first on the one CPU (launches interleaved with the
		// commit before: 30-60 µs less, three runs of three).
		cpus.procs = runtime.GOMAXPROCS(1)
	}
}

// unpin gives the guard's threads back the CPUs it was given.
func unpin() {
	cpus.mu.Lock()
	defer cpus.mu.Unlock()
	if cpus.pinned {
		setThreads(&cpus.given)
		runtime.GOMAXPROCS(cpus.procs)
		cpus.pinned = false
	}
}

// setThreads sets every thread of the guard's to set.
func setThreads(set *unix.CPUSet) bool {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return false
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.SchedSetaffinity(tid, set)
		}
	}
	return true
}

// withAllCPUs runs start, which starts or becomes another process, on a
// thread that has the CPUs the guard was given: a new process inherits its
// starter's thread's CPUs, and keeps them across exec.
func withAllCPUs(start func()) {
	cpus.mu.Lock()
	defer cpus.mu.Unlock()
	if !cpus.pinned {
		start()
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = unix.SchedSetaffinity(0, &cpus.given)
	defer unix.SchedSetaffinity(0, &cpus.current)
	start()
}
