package activation

import (
	"errors"
	"strings"
	"syscall"
)

// Errors returned by this package. Each error returned by a collecting function
// is an *Error wrapping one of these; test for them with errors.Is. The first
// three match the error codes of the Node library socket-activation, so
// errors.Is(err, syscall.ESRCH) and friends work as well.
var (
	// ErrNotActivated: the process was not started by a service manager (no
	// LISTEN_FDS, or not launched by launchd). errors.Is(err, syscall.ESRCH).
	ErrNotActivated error = &sentinel{msg: "not activated by a service manager", errno: syscall.ESRCH}

	// ErrOtherProcess: LISTEN_FDS is set but LISTEN_PID names another process
	// (or is absent), so the sockets are not this process's to take. A wrapper
	// between the service manager and the program changes the pid. It is a
	// kind of ErrNotActivated: errors.Is(err, ErrNotActivated) and
	// errors.Is(err, syscall.ESRCH) are true.
	ErrOtherProcess error = &sentinel{msg: "sockets handed to another process", errno: syscall.ESRCH, parent: ErrNotActivated}

	// ErrNoSuchSocket: the service manager handed over no socket of that name.
	// errors.Is(err, syscall.ENOENT).
	ErrNoSuchSocket error = &sentinel{msg: "no socket of that name", errno: syscall.ENOENT}

	// ErrAlreadyCollected: the sockets of that name were already collected in
	// this process. errors.Is(err, syscall.EALREADY).
	ErrAlreadyCollected error = &sentinel{msg: "socket already collected", errno: syscall.EALREADY}

	// ErrBadEnvironment: LISTEN_PID, LISTEN_FDS or LISTEN_FDNAMES is malformed,
	// or the number of names differs from the number of descriptors.
	// errors.Is(err, syscall.EINVAL).
	ErrBadEnvironment error = &sentinel{msg: "malformed LISTEN_* environment", errno: syscall.EINVAL}

	// ErrBadSocket: an inherited descriptor is closed, is not a socket, or is
	// not of the kind asked for (Listeners wants a listening stream or
	// seqpacket socket, PacketConns a datagram socket). The descriptors stay
	// uncollected, so another function (Files) may still take them.
	ErrBadSocket error = &sentinel{msg: "inherited descriptor is not a usable socket"}

	// ErrNotSupported: the platform has no such service manager (launchd off
	// darwin, anything on platforms without Unix descriptors). A program that
	// runs where socket activation does not exist was, by definition, not
	// activated: errors.Is(err, ErrNotActivated) is true, so the usual
	// fallback to listening on its own works everywhere.
	ErrNotSupported error = &sentinel{msg: "socket activation not supported on this platform", errno: syscall.ESRCH, parent: ErrNotActivated}
)

// sentinel is an error value that also matches a system error number and,
// optionally, a more general sentinel.
type sentinel struct {
	msg    string
	errno  syscall.Errno // 0: matches no errno
	parent error
}

func (e *sentinel) Error() string { return "activation: " + e.msg }

func (e *sentinel) Is(target error) bool {
	if e.errno != 0 {
		if n, ok := target.(syscall.Errno); ok && n == e.errno {
			return true
		}
	}
	return e.parent != nil && errors.Is(e.parent, target)
}

// Error describes a failed attempt to collect sockets. Err is one of the
// package's sentinel errors; Unwrap returns it.
type Error struct {
	Manager Manager // the manager asked (Any when the caller did not choose)
	Name    string  // the socket name asked for
	Err     error   // ErrNotActivated, ErrNoSuchSocket, ...
	Detail  string  // specifics for people, e.g. the names that do exist; may be empty
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("activation: ")
	b.WriteString(e.Manager.String())
	if e.Name != "" || e.Err == ErrNoSuchSocket || e.Err == ErrAlreadyCollected {
		b.WriteString(" socket ")
		b.WriteString(strconvQuote(e.Name))
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "activation: "))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
