//go:build linux

package tests

// Helper programs the scripts run as real processes: a fake claude whose
// behaviour is spelled out in its arguments, and a sleeper that stands for
// the long-lived processes claude's tools leave behind.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fakeClaude runs its arguments as steps, in order:
//
//	pid=FILE        write its pid to FILE
//	ready=FILE      create FILE
//	setsid=FILE     start a sleeper that calls setsid (like claude's Bash tool); its pid in FILE
//	daemon=FILE     double-fork a sleeper that calls setsid; the grandchild's pid in FILE
//	clearenv=FILE   start a setsid sleeper with an empty environment; pid in FILE
//	ignoreterm=FILE start a setsid sleeper that ignores SIGTERM; pid in FILE
//	fork=N:DIR      start N sleepers, pids in DIR/<i>
//	ignore=SIG,...  ignore these signals
//	trap=FILE       append the name of each signal received to FILE; TERM and HUP
//	                then end the process by that signal unless ignored
//	record=FILE     like trap, but never ends the process (a claude that ignores
//	                SIGTERM, yet lets the test see each one arrive)
//	cat             copy stdin to stdout until EOF
//	init=SID        print a hook line, then a stream-json init line for SID
//	initsplit=SID   print the init line in two writes, the second after FILE init.go exists
//	sessions=SID    write $CLAUDE_CONFIG_DIR/sessions/<pid>.json with the right procStart
//	badsessions=SID the same with a procStart that is not this process's
//	flood           write lines to stdout for ever (until the reader goes)
//	waitfile=FILE   wait until FILE exists
//	readline        read a line from stdin and print "got: LINE"
//	block           wait for ever
//	exit=N          exit with status N
//	kill=SIG        kill itself with SIG
func fakeClaude() int {
	var ignored = map[os.Signal]bool{}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		step := args[i]
		name, arg, _ := strings.Cut(step, "=")
		switch name {
		case "pid":
			must(writeFile(arg, strconv.Itoa(os.Getpid())))
		case "ready":
			must(writeFile(arg, "ready"))
		case "setsid":
			startSleeper(arg, nil, "--setsid")
		case "daemon":
			must(runSelf("daemonize", arg))
		case "clearenv":
			startSleeper(arg, []string{}, "--setsid")
		case "ignoreterm":
			startSleeper(arg, nil, "--setsid", "--ignore-term")
		case "fork":
			n, dir, _ := strings.Cut(arg, ":")
			count, _ := strconv.Atoi(n)
			for i := 0; i < count; i++ {
				startSleeper(filepath.Join(dir, strconv.Itoa(i)), nil)
			}
		case "ignore":
			for _, s := range strings.Split(arg, ",") {
				sig := sigByName(s)
				ignored[sig] = true
				signal.Ignore(sig)
			}
		case "trap":
			trap(arg, ignored, true)
		case "record":
			trap(arg, ignored, false)
		case "cat":
			_, err := io.Copy(os.Stdout, os.Stdin)
			must(err)
		case "init":
			fmt.Printf(`{"type":"system","subtype":"hook_started","hook":"x"}` + "\n")
			fmt.Printf(`{"type":"system","subtype":"init","cwd":"/tmp","session_id":%q,"tools":["Bash"],"model":"fake-model"}`+"\n", arg)
		case "initsplit":
			line := fmt.Sprintf(`{"type":"system","subtype":"init","cwd":"/tmp","session_id":%q,"model":"fake-model"}`+"\n", arg)
			os.Stdout.Write([]byte(line[:40]))
			waitFile("init.go")
			os.Stdout.Write([]byte(line[40:]))
		case "sessions", "badsessions":
			writeSessions(arg, name == "badsessions")
		case "waitfile":
			waitFile(arg)
		case "flood":
			line := []byte(strings.Repeat("x", 1023) + "\n")
			for {
				if _, err := os.Stdout.Write(line); err != nil {
					return 3 // EPIPE without SIGPIPE: not how Go's stdout behaves
				}
			}
		case "readline":
			line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
			fmt.Printf("got: %s\n", strings.TrimSpace(line))
		case "block":
			select {}
		case "exit":
			n, _ := strconv.Atoi(arg)
			return n
		case "kill":
			sig := sigByName(arg)
			signal.Reset(sig)
			unix.Kill(os.Getpid(), sig)
			select {}
		default:
			if strings.HasPrefix(step, "-") {
				// claude's own flags, passed through by the guard, and
				// their values
				if !strings.Contains(step, "=") && i+1 < len(args) && !strings.Contains(args[i+1], "=") && !bareSteps[args[i+1]] {
					i++
				}
				continue
			}
			fmt.Fprintf(os.Stderr, "fakeclaude: unknown step %q\n", step)
			return 99
		}
	}
	return 0
}

var bareSteps = map[string]bool{"cat": true, "readline": true, "block": true, "flood": true}

// daemonize is the middle of a double fork: start the sleeper, then exit.
func daemonize() int {
	startSleeper(os.Args[1], nil, "--setsid")
	return 0
}

func runSelf(cmdName string, args ...string) error {
	cmd := exec.Command(cmdName, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, os.Stderr
	return cmd.Run()
}

func startSleeper(pidFile string, env []string, flags ...string) {
	cmd := exec.Command("sleeper", append(flags, pidFile)...)
	if env != nil {
		path, err := exec.LookPath("sleeper")
		must(err)
		cmd.Path = path
		cmd.Env = env
	}
	must(cmd.Start())
	waitFile(pidFile)
}

// sleeper [--setsid] [--ignore-term] PIDFILE: writes its pid once ready and
// waits for ever.
func sleeper() int {
	args := os.Args[1:]
	for len(args) > 1 {
		switch args[0] {
		case "--setsid":
			_, err := unix.Setsid()
			must(err)
		case "--ignore-term":
			signal.Ignore(syscall.SIGTERM)
		}
		args = args[1:]
	}
	must(writeFile(args[0], strconv.Itoa(os.Getpid())))
	select {}
}

func trap(file string, ignored map[os.Signal]bool, die bool) {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGALRM}
	var listen []os.Signal
	for _, s := range sigs {
		if !ignored[s] {
			listen = append(listen, s)
		}
	}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, listen...)
	go func() {
		for s := range ch {
			sig := s.(syscall.Signal)
			f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			must(err)
			fmt.Fprintln(f, sigName(sig))
			f.Close()
			if die && (sig == syscall.SIGTERM || sig == syscall.SIGHUP) {
				signal.Reset(sig)
				unix.Kill(os.Getpid(), sig)
			}
		}
	}()
}

func writeSessions(sid string, bad bool) {
	st, err := readStat(os.Getpid())
	must(err)
	if bad {
		st.start++
	}
	start := strconv.FormatUint(st.start, 10)
	dir := filepath.Join(os.Getenv("CLAUDE_CONFIG_DIR"), "sessions")
	must(os.MkdirAll(dir, 0o700))
	must(writeFile(filepath.Join(dir, strconv.Itoa(os.Getpid())+".json"),
		fmt.Sprintf(`{"pid":%d,"sessionId":%q,"cwd":"/tmp","procStart":%q,"status":"busy","version":"2.1.328"}`, os.Getpid(), sid, start)))
}

var sigNames = map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP,
	"QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH,
	"CONT": syscall.SIGCONT, "ALRM": syscall.SIGALRM, "KILL": syscall.SIGKILL, "TSTP": syscall.SIGTSTP,
	"STOP": syscall.SIGSTOP, "PIPE": syscall.SIGPIPE, "SEGV": syscall.SIGSEGV, "ABRT": syscall.SIGABRT}

func sigByName(s string) syscall.Signal {
	if sig, ok := sigNames[strings.TrimPrefix(s, "SIG")]; ok {
		return sig
	}
	panic("unknown signal " + s)
}

func sigName(sig syscall.Signal) string {
	for n, s := range sigNames {
		if s == sig {
			return n
		}
	}
	return strconv.Itoa(int(sig))
}

// writeFile writes atomically, so a waiter never reads half a pid.
func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// waitFile polls for path: the helpers cannot be told otherwise.
// waitFile waits for path for at most helperWait. A helper that gives up
// says so in the file helper-timeout of its directory, so that a test
// finding it gone can tell its own timeout from the guard's doing.
func waitFile(path string) {
	if poll(helperWait, func() bool { _, err := os.Stat(path); return err == nil }) {
		return
	}
	msg := fmt.Sprintf("helper %s (pid %d) waited %v for %s and gave up\n", filepath.Base(os.Args[0]), os.Getpid(), helperWait, path)
	os.WriteFile("helper-timeout", []byte(msg), 0o644)
	fmt.Fprint(os.Stderr, msg)
	os.Exit(98)
}

// helperWait bounds a helper's wait for a file: past the longest test.
const helperWait = 10 * time.Minute

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(97)
	}
}
