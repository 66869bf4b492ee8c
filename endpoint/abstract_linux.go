package endpoint

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

const abstractSupported = true

// listenAbstract listens on a Linux abstract socket. There is no file: no
// lock, no mode, nothing to remove on Close.
func listenAbstract(c config, a Addr) (net.Listener, error) {
	fd, err := socket(unix.AF_UNIX, unix.SOCK_STREAM)
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("socket", err)}
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + a.Path}); err != nil {
		unix.Close(fd)
		if err == unix.EADDRINUSE {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrAddrInUse, Detail: "another socket is bound to that abstract name"}
		}
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("bind", err)}
	}
	if err := unix.Listen(fd, c.backlog); err != nil {
		unix.Close(fd)
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: os.NewSyscallError("listen", err)}
	}
	f := os.NewFile(uintptr(fd), a.String())
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	return c.adopt(l), nil
}
