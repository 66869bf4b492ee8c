//go:build unix

package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/lockfile"
	"golang.org/x/sys/unix"
)

const unixSupported = true

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = 2 * time.Second

// closeLockTimeout bounds the wait for the lock when a listener closes; after
// it the socket file is checked and removed without the lock.
const closeLockTimeout = 5 * time.Second

// maxBindAttempts bounds bind-probe-unlink rounds, in case a process that
// ignores the lock keeps recreating the file.
const maxBindAttempts = 5

// testHookBound, when set by a test, runs between bind and listen: the moment
// a socket file exists but refuses connections, as a stale one does.
var testHookBound func()

// testHookClosed, when set by a test, runs in Close after the socket stopped
// listening and before the socket file is checked and removed.
var testHookClosed func()

// listenUnix listens on a Unix socket path; see ListenConfig.Listen for the
// rules. The lock is held from before the first bind until listen(2) has
// returned, so no other starter can probe our socket before it accepts.
func listenUnix(ctx context.Context, c config, a Addr) (net.Listener, error) {
	path := a.Path
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	if err := prepareDir(filepath.Dir(abs)); err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	lockPerm := 0o600 | c.mode&0o044
	lk, err := lockfile.Acquire(ctx, abs+".lock", lockPerm)
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err, Detail: "taking the lock " + abs + ".lock"}
	}
	l, err := bindListen(ctx, c, a, abs)
	if err != nil {
		if _, serr := os.Lstat(abs); errors.Is(serr, os.ErrNotExist) {
			lk.Remove() // nobody there: leave no lock file behind
		} else {
			lk.Unlock()
		}
		return nil, err
	}
	l.lockPath = lk.Path()
	l.lockPerm = lockPerm
	lk.Unlock()
	return l, nil
}

// bindListen does the bind, stale check, chmod and listen. The lock is held.
func bindListen(ctx context.Context, c config, a Addr, abs string) (*unixListener, error) {
	var fd int
	for attempt := 1; ; attempt++ {
		var err error
		fd, err = socket(unix.AF_UNIX, unix.SOCK_STREAM)
		if err != nil {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("socket", err)}
		}
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: a.Path})
		if err == nil {
			break
		}
		unix.Close(fd)
		if err != unix.EADDRINUSE {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("bind", err)}
		}
		if attempt == maxBindAttempts {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrAddrInUse,
				Detail: "the path was taken again after each of " + strconv.Itoa(attempt) + " removals of a stale socket"}
		}
		if err := clearStale(ctx, a, abs); err != nil {
			return nil, err
		}
	}
	fail := func(op string, err error) (*unixListener, error) {
		unix.Close(fd)
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError(op, err)}
	}
	if testHookBound != nil {
		testHookBound()
	}
	created, err := os.Lstat(abs)
	if err != nil {
		return fail("lstat", err)
	}
	if err := os.Chmod(abs, c.mode); err != nil {
		os.Remove(abs)
		return fail("chmod", err)
	}
	if err := unix.Listen(fd, c.backlog); err != nil {
		os.Remove(abs)
		return fail("listen", err)
	}
	f := os.NewFile(uintptr(fd), a.Path)
	nl, err := net.FileListener(f)
	f.Close()
	if err != nil {
		os.Remove(abs)
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	ul := nl.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	return &unixListener{UnixListener: ul, path: abs, created: created, unlink: true}, nil
}

// clearStale runs after bind said EADDRINUSE, with the lock held. It returns
// nil when the path is free to bind again (the stale socket was removed, or
// the file is gone), and an error otherwise.
func clearStale(ctx context.Context, a Addr, abs string) error {
	fi, err := os.Lstat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	if fi.Mode().Type() != os.ModeSocket {
		return &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSocket,
			Detail: "found " + describeMode(fi.Mode()) + "; it is never removed, remove it yourself if it is not needed"}
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(pctx, "unix", a.Path)
	switch {
	case err == nil:
		conn.Close()
		return &OpError{Op: "listen", Addr: a.String(), Err: ErrAddrInUse, Detail: "a running server accepts connections there"}
	case errors.Is(err, syscall.EAGAIN):
		return &OpError{Op: "listen", Addr: a.String(), Err: ErrAddrInUse, Detail: "a running server is there (its accept queue is full)"}
	case errors.Is(err, syscall.ENOENT):
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		// Nobody accepts on it: a socket left by a process that died. Remove
		// it if the path still names the file we probed.
		now, err := os.Lstat(abs)
		if err == nil && os.SameFile(fi, now) {
			if err := os.Remove(abs); err != nil && !errors.Is(err, os.ErrNotExist) {
				return &OpError{Op: "listen", Addr: a.String(), Err: err, Detail: "removing a stale socket"}
			}
		}
		return nil
	}
	if ne, ok := err.(*net.OpError); ok && ne.Err != nil {
		err = ne.Err
	}
	return &OpError{Op: "listen", Addr: a.String(), Err: err,
		Detail: "a socket file is there and probing it failed, so it is not known to be stale; it was left alone"}
}

func describeMode(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	}
	return "a file of mode " + m.String()
}

// prepareDir creates dir with mode 0700 when it is missing, and checks that
// the per-user directory under the temporary directory is private.
func prepareDir(dir string) error {
	priv, err := filepath.Abs(privateTmpDir())
	if err != nil {
		return err
	}
	private := dir == priv
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o700); err != nil { // MkdirAll's mode is subject to the umask
			return err
		}
	} else if err != nil {
		return err
	}
	if private {
		return checkPrivate(dir)
	}
	return nil
}

// checkPrivate reports ErrInsecureDir unless dir is a directory (not a
// symlink) owned by the effective user with no access for group or others.
func checkPrivate(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return &os.PathError{Op: "check", Path: dir, Err: insecure("it is " + describeMode(fi.Mode()) + ", not a directory")}
	case ok && int(st.Uid) != os.Geteuid():
		return &os.PathError{Op: "check", Path: dir, Err: insecure("it belongs to uid " + strconv.Itoa(int(st.Uid)) + ", not to uid " + strconv.Itoa(os.Geteuid()))}
	case fi.Mode().Perm()&0o077 != 0:
		return &os.PathError{Op: "check", Path: dir, Err: insecure("its mode is " + fi.Mode().Perm().String() + "; it must be 0700 (drwx------)")}
	}
	return nil
}

// insecureError is ErrInsecureDir with the reason.
type insecureError struct{ reason string }

func insecure(reason string) error     { return &insecureError{reason} }
func (e *insecureError) Error() string { return "socket directory is not private: " + e.reason }
func (e *insecureError) Unwrap() error { return ErrInsecureDir }

// unixListener is a listener on a Unix socket path that Listen created. It
// removes the socket file on Close when the path still names that socket.
type unixListener struct {
	*net.UnixListener
	path     string      // absolute path of the socket file
	created  os.FileInfo // the socket file as created (device and inode)
	lockPath string
	lockPerm os.FileMode

	mu     sync.Mutex
	unlink bool
	closed bool
}

var _ net.Listener = (*unixListener)(nil)

// SetUnlinkOnClose sets whether Close removes the socket file (it does by
// default, and only if the file at the path is still the one Listen created).
func (l *unixListener) SetUnlinkOnClose(unlink bool) {
	l.mu.Lock()
	l.unlink = unlink
	l.mu.Unlock()
}

// Close stops listening and removes the socket file if it is still ours. It
// takes the path's lock before it stops listening and holds it until the file
// is checked and removed: a process starting on the path meanwhile either
// finds our socket alive (and connects to it) or waits for the lock and finds
// no file. Closing first and locking afterwards would let a starter replace
// the socket in between, and the inode check could then be fooled by the
// kernel reusing our freed inode number for the new socket. When the lock
// cannot be had in time the file is left for the next starter's stale-socket
// check instead of being removed unlocked.
func (l *unixListener) Close() error {
	l.mu.Lock()
	first, unlink := !l.closed, l.unlink
	l.closed = true
	l.mu.Unlock()
	if !first || !unlink {
		return l.UnixListener.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeLockTimeout)
	defer cancel()
	lk, lerr := lockfile.Acquire(ctx, l.lockPath, l.lockPerm)
	err := l.UnixListener.Close()
	if testHookClosed != nil {
		testHookClosed()
	}
	if lerr != nil {
		return err
	}
	removed := false
	if now, serr := os.Lstat(l.path); serr == nil && os.SameFile(l.created, now) {
		removed = os.Remove(l.path) == nil
	}
	if removed {
		lk.Remove()
	} else {
		lk.Unlock()
	}
	return err
}

// listenFD takes over descriptor fd, which must be a listening stream socket.
func listenFD(c config, a Addr) (net.Listener, error) {
	fd := a.FD
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	switch {
	case err == unix.EBADF:
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("getsockopt", err), Detail: "descriptor " + strconv.Itoa(fd) + " is not open"}
	case err == unix.ENOTSOCK:
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("getsockopt", err), Detail: "descriptor " + strconv.Itoa(fd) + " is not a socket"}
	case err != nil:
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("getsockopt", err)}
	case typ != unix.SOCK_STREAM:
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSupported, Detail: "descriptor " + strconv.Itoa(fd) + " is not a stream socket"}
	}
	if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && acc == 0 {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("listen", unix.EINVAL),
			Detail: "descriptor " + strconv.Itoa(fd) + " is a socket that is not listening (a connected socket, as inetd or Accept=yes hand over, is not a listener)"}
	}
	// Work on a duplicate so that a failure leaves descriptor fd as it was
	// (an *os.File for fd itself would close it when collected).
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("fcntl", err)}
	}
	f := os.NewFile(uintptr(dup), a.String())
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	unix.Close(fd)
	return c.adopt(l), nil
}

// setBacklog calls listen(2) again on a listening socket, which sets its
// backlog.
func setBacklog(l *net.TCPListener, backlog int) error {
	rc, err := l.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	return os.NewSyscallError("listen", lerr)
}
