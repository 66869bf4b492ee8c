//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package endpoint

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePortSupported = true

// setReusePort is a net.ListenConfig.Control function setting SO_REUSEPORT.
func setReusePort(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt SO_REUSEPORT", serr)
}
