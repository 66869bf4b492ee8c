//go:build darwin

package activation

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// launchd hands sockets over through launch_activate_socket(3) in libSystem:
//
//	int launch_activate_socket(const char *name, int **fds, size_t *cnt);
//
// It is called without cgo, the way the standard library and
// golang.org/x/sys/unix call libSystem on darwin: the linker imports the
// symbol dynamically (go:cgo_import_dynamic), a one-instruction assembly
// trampoline per architecture (launchd_darwin_*.s) jumps to it, and the
// runtime's syscall.syscall switches to the system stack and makes the C call.
// This depends on the runtime keeping syscall.syscall reachable by linkname,
// which it does for golang.org/x/sys; re-check on every new Go release
// (docs/activation.md says how).

//go:cgo_import_dynamic switchboard_launch_activate_socket launch_activate_socket "/usr/lib/libSystem.B.dylib"
//go:cgo_import_dynamic switchboard_free free "/usr/lib/libSystem.B.dylib"

// Addresses of the trampolines, filled in by the assembly files.
var (
	launchActivateSocketTrampolineAddr uintptr
	freeTrampolineAddr                 uintptr
)

// syscall_syscall calls the C function at fn with three arguments on the
// system stack. r1 is the function's return value; err is errno when r1 is -1.
//
//go:linkname syscall_syscall syscall.syscall
func syscall_syscall(fn, a1, a2, a3 uintptr) (r1, r2 uintptr, err syscall.Errno)

// launchActivateSocket asks launchd for the descriptors of the socket name. It
// returns launchd's error number as is.
func launchActivateSocket(name string) ([]int, error) {
	cname, err := syscall.BytePtrFromString(name)
	if err != nil {
		return nil, syscall.ENOENT // a name with a NUL byte cannot exist in a plist
	}
	var (
		fds *int32  // int *: an array launchd allocates with malloc
		cnt uintptr // size_t
	)
	r, _, _ := syscall_syscall(launchActivateSocketTrampolineAddr,
		uintptr(unsafe.Pointer(cname)), uintptr(unsafe.Pointer(&fds)), uintptr(unsafe.Pointer(&cnt)))
	if code := int32(r); code != 0 {
		return nil, syscall.Errno(code)
	}
	if fds == nil {
		return nil, nil
	}
	out := make([]int, cnt)
	for i, fd := range unsafe.Slice(fds, cnt) {
		out[i] = int(fd)
	}
	syscall_syscall(freeTrampolineAddr, uintptr(unsafe.Pointer(fds)), 0, 0)
	return out, nil
}

// launchdPending holds descriptors launchd has handed over but no collecting
// function has taken yet (they were not of the kind asked for). launchd hands
// each name out once, so they are kept for a later Files or PacketConns.
// Guarded by collected.mu.
var launchdPending map[string][]int

// startedByLaunchd tells whether launchd started the process: its parent is
// launchd (pid 1), or launchd set XPC_SERVICE_NAME, which it does for every
// job it starts ("0" outside jobs).
func startedByLaunchd() bool {
	if os.Getppid() == 1 {
		return true
	}
	s := os.Getenv("XPC_SERVICE_NAME")
	return s != "" && s != "0"
}

func collectLaunchd(c Collector, name string, want socketKind) ([]*os.File, error) {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	key := collectedKey{Launchd, name}
	if collected.names[key] {
		return nil, &Error{Manager: Launchd, Name: name, Err: ErrAlreadyCollected}
	}
	fds, ok := launchdPending[name]
	if !ok {
		var err error
		fds, err = launchActivateSocket(name)
		switch {
		case err == nil && len(fds) == 0:
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrNoSuchSocket, Detail: "launchd passed no descriptors"}
		case err == syscall.ENOENT:
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrNoSuchSocket}
		case err == syscall.ESRCH && startedByLaunchd():
			// Some macOS versions answer ESRCH, not ENOENT, for a name the
			// job's plist does not list.
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrNoSuchSocket, Detail: "launchd answered ESRCH to a process it started"}
		case err == syscall.ESRCH:
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrNotActivated, Detail: "the process is not managed by launchd"}
		case err == syscall.EALREADY:
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrAlreadyCollected, Detail: "launchd handed the socket out before"}
		case err != nil:
			return nil, &Error{Manager: Launchd, Name: name, Err: err, Detail: "launch_activate_socket failed"}
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
		}
		if launchdPending == nil {
			launchdPending = make(map[string][]int)
		}
		launchdPending[name] = fds
	}
	for _, fd := range fds {
		if err := checkSocket(fd, want); err != nil {
			return nil, &Error{Manager: Launchd, Name: name, Err: ErrBadSocket, Detail: err.Error()}
		}
	}
	delete(launchdPending, name)
	if collected.names == nil {
		collected.names = make(map[collectedKey]bool)
	}
	collected.names[key] = true
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), fmt.Sprintf("launchd:%s", name))
	}
	return files, nil
}
