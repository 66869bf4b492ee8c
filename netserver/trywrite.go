package netserver

import (
	"errors"
	"syscall"

	"github.com/switchboard-ipc/switchboard/internal/sockio"
)

// TryWrite writes as much of p as the connection's socket takes at once,
// without waiting for room, counting the bytes like Write, and returns the
// number written: 0 when the socket's buffer is full. It returns
// errors.ErrUnsupported for a connection without a file descriptor, and on
// platforms other than Unix.
//
// It lets a goroutine that must not block (one that serves other
// connections too) write what it can and leave the rest to one that may
// wait. Like Write, it must not run concurrently with another write.
func (c *Conn) TryWrite(p []byte) (int, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return c.counted(sockio.TryWrite(sc, p))
}

// TryWriteBuffers is TryWrite for the concatenation of bufs, written with
// one system call where the platform has writev: bytes that wait in
// several buffers go out in one write. It returns the number of bytes
// written, counted from the start of bufs[0].
func (c *Conn) TryWriteBuffers(bufs [][]byte) (int, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return c.counted(sockio.TryWriteBuffers(sc, bufs))
}

// counted counts n bytes written, as Write does, and returns n and err.
func (c *Conn) counted(n int, err error) (int, error) {
	if n > 0 {
		c.written.Add(uint64(n))
		c.srv.bytesWritten.Add(uint64(n))
	}
	return n, err
}
