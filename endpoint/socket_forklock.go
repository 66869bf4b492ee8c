//go:build unix && !(linux || freebsd || netbsd || openbsd || dragonfly || illumos)

package endpoint

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socket creates a close-on-exec socket. Without SOCK_CLOEXEC, the fork lock
// keeps a concurrent exec from inheriting it before the flag is set.
func socket(domain, typ int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(domain, typ, 0)
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	return fd, nil
}
