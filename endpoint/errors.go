package endpoint

import (
	"errors"
	"runtime"
	"strconv"
	"syscall"
)

// The errors of package endpoint. Test for them with errors.Is; the concrete
// errors returned carry the address and the reason.
var (
	// ErrBadAddr: an address string does not parse. The error is an
	// *AddrError naming what is wrong and what is allowed.
	ErrBadAddr error = &sentinel{msg: "bad address", errno: syscall.EINVAL}

	// ErrAddrInUse: the address is taken — by a running server for a Unix
	// socket path (a stale socket file is removed instead), or by another
	// socket for TCP and abstract names. errors.Is(err, syscall.EADDRINUSE)
	// is also true.
	ErrAddrInUse error = &sentinel{msg: "address in use", errno: syscall.EADDRINUSE}

	// ErrPathTooLong: a Unix socket path or abstract name does not fit the
	// platform's sun_path. The error is a *PathTooLongError.
	// errors.Is(err, syscall.ENAMETOOLONG) is also true.
	ErrPathTooLong error = &sentinel{msg: "unix socket path too long", errno: syscall.ENAMETOOLONG}

	// ErrNotSupported: the platform or the address form cannot do what was
	// asked (abstract sockets outside Linux, Unix sockets on Windows, Dial on
	// an fd: or activation address, peer credentials of a TCP connection).
	// errors.Is(err, errors.ErrUnsupported) is also true.
	ErrNotSupported error = &sentinel{msg: "not supported", std: errors.ErrUnsupported}

	// ErrNotSocket: a Unix socket path is taken by something that is not a
	// socket (a regular file, a directory, a symlink). Listen never removes it.
	ErrNotSocket error = &sentinel{msg: "path exists and is not a socket", errno: syscall.EADDRINUSE}

	// ErrInsecureDir: the per-user socket directory under the temporary
	// directory exists but belongs to another user or is open to others.
	ErrInsecureDir error = &sentinel{msg: "socket directory is not private", errno: syscall.EPERM}

	// ErrBadConfig: a ListenConfig field is out of range.
	ErrBadConfig error = &sentinel{msg: "bad listen config", errno: syscall.EINVAL}
)

// sentinel is an error value that also matches a system error, so callers
// written against errno values keep working.
type sentinel struct {
	msg   string
	errno syscall.Errno
	std   error
}

func (e *sentinel) Error() string { return "endpoint: " + e.msg }

func (e *sentinel) Is(target error) bool {
	if e.std != nil && target == e.std {
		return true
	}
	if errno, ok := target.(syscall.Errno); ok {
		return e.errno != 0 && errno == e.errno
	}
	return false
}

// AddrError reports an address string that does not parse. It matches
// ErrBadAddr, and also whatever Err matches (ErrPathTooLong for a
// *PathTooLongError).
type AddrError struct {
	Addr   string // the string given to ParseAddr
	Reason string // what is wrong and what is allowed
	Err    error  // underlying cause, or nil
}

func (e *AddrError) Error() string {
	return "endpoint: bad address " + strconv.Quote(e.Addr) + ": " + e.Reason
}

// Is reports whether target is ErrBadAddr.
func (e *AddrError) Is(target error) bool { return target == ErrBadAddr }

// Unwrap returns the underlying cause, or nil.
func (e *AddrError) Unwrap() error { return e.Err }

// PathTooLongError reports a Unix socket path (or abstract name, counted with
// its '@') that does not fit in the platform's sun_path: Limit bytes including
// the terminating NUL, so at most Limit-1 bytes of path. It matches
// ErrPathTooLong.
type PathTooLongError struct {
	Path  string // the path as given ("@name" for an abstract name)
	Len   int    // len(Path) in bytes
	Limit int    // size of sun_path: 108 on Linux, 104 on darwin and the BSDs
}

func (e *PathTooLongError) Error() string {
	return "endpoint: unix socket path is " + strconv.Itoa(e.Len) + " bytes; sun_path on " +
		runtime.GOOS + " holds " + strconv.Itoa(e.Limit) + " bytes with the terminating NUL, so at most " +
		strconv.Itoa(e.Limit-1) + ": use a shorter path (a short directory, or a relative path with ./)"
}

// Unwrap returns ErrPathTooLong.
func (e *PathTooLongError) Unwrap() error { return ErrPathTooLong }

// OpError is the error of Listen, Dial and PeerOf when the address parsed but
// the operation failed. Err is one of the package's sentinels (ErrAddrInUse,
// ErrNotSocket, ...) or the system's error; Detail says what was found.
type OpError struct {
	Op     string // "listen", "dial"
	Addr   string // the address in canonical form
	Err    error
	Detail string // explanation, or ""
}

func (e *OpError) Error() string {
	msg := "<nil>"
	if s, ok := e.Err.(*sentinel); ok {
		msg = s.msg
	} else if e.Err != nil {
		msg = e.Err.Error()
	}
	s := "endpoint: " + e.Op + " " + e.Addr + ": " + msg
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns Err.
func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the operation timed out.
func (e *OpError) Timeout() bool {
	t, ok := e.Err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}
