//go:build darwin || linux || openbsd

package sockio

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// TryWriteBuffers is TryWrite for the concatenation of bufs, in one
// system call (writev): a stream whose bytes wait in several buffers goes
// out in one write as large as the kernel takes, rather than one write per
// buffer. It returns the number of bytes written, counted from the start
// of bufs[0].
func TryWriteBuffers(c syscall.Conn, bufs [][]byte) (int, error) {
	return try(c, func(fd int) (int, error) { return unix.Writev(fd, bufs) })
}
