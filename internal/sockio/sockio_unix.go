//go:build unix

package sockio

import (
	"errors"
	"syscall"
)

// TryWrite writes as much of p to c as its socket takes at once, without
// waiting for room, and returns the number of bytes written: 0 when the
// socket's buffer is full. The error is the connection's (closed, EPIPE,
// ...); it is errors.ErrUnsupported when c has no file descriptor.
//
// TryWrite takes c's write lock like any Write: it must not be called while
// another goroutine writes to c, or it waits for that write.
func TryWrite(c syscall.Conn, p []byte) (int, error) {
	return try(c, func(fd int) (int, error) { return syscall.Write(fd, p) })
}

// try makes one write to c's file descriptor with write, under c's write
// lock, without waiting for room: it retries only on EINTR, and reports a
// full socket (EAGAIN) as 0 bytes written and no error.
func try(c syscall.Conn, write func(fd int) (int, error)) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, werr = write(int(fd))
			if werr != syscall.EINTR {
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
	if errors.Is(werr, syscall.EAGAIN) {
		werr = nil
	}
	return n, werr
}
