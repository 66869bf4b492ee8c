//go:build darwin || linux || openbsd

package sockio

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// TryWriteBuffers is TryWrite for the concatenation of bufs, in one
// system call (writev): a stream whose bytes wait in several buffers goes
// out in one write as large as the kernel takes, rather than one write per
// buffer. It returns the number of bytes written, counted from the start
// of bufs[0].
func TryWriteBuffers(c syscall.Conn, bufs [][]byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), bufs)
			if werr != unix.EINTR {
				return true // done, whatever the outcome: never wait
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(werr, unix.EAGAIN) {
		werr = nil
	}
	return n, werr
}
