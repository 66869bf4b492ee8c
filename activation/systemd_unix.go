//go:build unix

package activation

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// systemdNames is the parsed systemd environment, kept once parsing has
// succeeded (the variables may be unset afterwards). Guarded by collected.mu.
var systemdNames []string

// collectSystemd takes the descriptors systemd passed under name.
func collectSystemd(c Collector, name string, want socketKind) ([]*os.File, error) {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	if systemdNames == nil {
		names, err := parseListenEnv(os.LookupEnv, os.Getpid())
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Name = name
			}
			return nil, err
		}
		// sd_listen_fds(3) marks every inherited descriptor close-on-exec at
		// once, whether or not it is collected later.
		for i := range names {
			syscall.CloseOnExec(listenFdsStart + i)
		}
		systemdNames = names
	}
	if !c.KeepEnv {
		os.Unsetenv(envPID)
		os.Unsetenv(envFDs)
		os.Unsetenv(envNames)
	}
	key := collectedKey{Systemd, name}
	if collected.names[key] {
		return nil, &Error{Manager: Systemd, Name: name, Err: ErrAlreadyCollected}
	}
	var fds []int
	for i, n := range systemdNames {
		if n == name { // names are case sensitive
			fds = append(fds, listenFdsStart+i)
		}
	}
	if len(fds) == 0 {
		return nil, &Error{Manager: Systemd, Name: name, Err: ErrNoSuchSocket,
			Detail: "names passed: " + strings.Join(uniq(systemdNames), ", ")}
	}
	for _, fd := range fds {
		if err := checkSocket(fd, want); err != nil {
			return nil, &Error{Manager: Systemd, Name: name, Err: ErrBadSocket, Detail: err.Error()}
		}
	}
	if collected.names == nil {
		collected.names = make(map[collectedKey]bool)
	}
	collected.names[key] = true
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "systemd:"+name)
	}
	return files, nil
}

// checkSocket reports why fd is not a socket of the wanted kind.
func checkSocket(fd int, want socketKind) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	switch {
	case errors.Is(err, unix.EBADF):
		return fmt.Errorf("descriptor %d is not open", fd)
	case errors.Is(err, unix.ENOTSOCK):
		return fmt.Errorf("descriptor %d is not a socket", fd)
	case err != nil:
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	switch want {
	case wantListener:
		if typ != unix.SOCK_STREAM && typ != unix.SOCK_SEQPACKET {
			return fmt.Errorf("descriptor %d is not a stream socket (type %d)", fd, typ)
		}
		acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		if err != nil {
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
		if acc == 0 {
			return fmt.Errorf("descriptor %d is not listening (a connected socket, as with Accept=yes? use Files)", fd)
		}
	case wantPacket:
		if typ != unix.SOCK_DGRAM {
			return fmt.Errorf("descriptor %d is not a datagram socket (type %d)", fd, typ)
		}
	}
	return nil
}

func uniq(names []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, strconvQuote(n))
		}
	}
	return out
}
