package launcher

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// shimEnv marks a process started as the shim: it must set LISTEN_PID and
// exec its arguments.
const shimEnv = "SWITCHBOARD_ACTIVATE_SHIM"

// shimExitCode is the exit status of a shim that could not exec the command,
// the shell's "command found but not executable" code.
const shimExitCode = 127

// ExecShim turns the process into the command it was asked to start, when the
// launcher started it as the shim: it sets LISTEN_PID to its own pid and execs
// os.Args[1:], keeping every descriptor. Otherwise it returns at once. Every
// program that runs a Launcher (switchboard itself, test binaries) calls it
// before doing anything else.
func ExecShim() {
	if os.Getenv(shimEnv) != "1" {
		return
	}
	os.Unsetenv(shimEnv)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "switchboard activate: shim started without a command")
		os.Exit(shimExitCode)
	}
	path, err := exec.LookPath(os.Args[1])
	if err == nil {
		if _, set := os.LookupEnv("LISTEN_FDS"); set {
			os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		}
		err = syscall.Exec(path, os.Args[1:], os.Environ())
	}
	fmt.Fprintf(os.Stderr, "switchboard activate: cannot start %s: %v\n", os.Args[1], err)
	os.Exit(shimExitCode)
}
