package channel

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// errHostAlive: a live host already listens on the path; connect instead.
var errHostAlive = errors.New("channel: a live host holds the socket")

// The election. Every member that finds no host tries to bind the channel's
// socket while holding an exclusive flock on the sibling ".lock" file; the
// lock makes probe, unlink of a stale socket and bind one atomic step, so of
// any number of candidates exactly one binds and the others find it alive.

// lockPath returns the lock file guarding path.
func lockPath(path string) string { return path + ".lock" }

// withLock runs fn while holding the exclusive flock on path's lock file.
func withLock(path string, fn func() error) error {
	f, err := os.OpenFile(lockPath(path), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// hostListener is the host's listener. Close unlinks the socket under the
// lock, and only when the file at the path is still the one it bound.
type hostListener struct {
	*net.UnixListener
	path string
	ino  uint64
}

func (l *hostListener) Close() error {
	var err error
	lerr := withLock(l.path, func() error {
		if ino, ok := inode(l.path); ok && ino == l.ino {
			os.Remove(l.path)
		}
		err = l.UnixListener.Close()
		return nil
	})
	if err == nil {
		err = lerr
	}
	return err
}

func inode(path string) (uint64, bool) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Ino), true
}

// bindHost tries to become the host: it binds path under the lock, removing a
// stale socket left by a dead host. It returns errHostAlive when a live host
// answers on path.
func bindHost(path string) (*hostListener, error) {
	var hl *hostListener
	err := withLock(path, func() error {
		for attempt := 0; ; attempt++ {
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err == nil {
				l.SetUnlinkOnClose(false)
				os.Chmod(path, 0o600)
				ino, _ := inode(path)
				hl = &hostListener{UnixListener: l, path: path, ino: ino}
				return nil
			}
			if !errors.Is(err, syscall.EADDRINUSE) || attempt > 0 {
				return err
			}
			// Something is at path: a live host, or the file a dead one left.
			c, derr := net.DialTimeout("unix", path, time.Second)
			if derr == nil {
				c.Close()
				return errHostAlive
			}
			if !errors.Is(derr, syscall.ECONNREFUSED) {
				return derr
			}
			if _, ok := inode(path); !ok {
				return err // not a socket: leave it alone
			}
			if rerr := os.Remove(path); rerr != nil && !os.IsNotExist(rerr) {
				return rerr
			}
		}
	})
	return hl, err
}

// noHost reports whether a dial error means nobody hosts the channel: the
// socket file is missing or nobody listens on it.
func noHost(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// dialHost connects to the host at path.
func dialHost(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// ensureDir creates dir with mode 0700 when it does not exist.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	return os.MkdirAll(dir, 0o700)
}
