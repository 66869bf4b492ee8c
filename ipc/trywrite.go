package ipc

import (
	"net"
	"syscall"

	"github.com/switchboard-ipc/switchboard/internal/sockio"
)

// tryWriter writes what a connection's socket takes at once, without
// waiting (see sockio.TryWrite). *netserver.Conn is one.
type tryWriter interface {
	TryWrite(p []byte) (int, error)
	TryWriteBuffers(bufs [][]byte) (int, error) // TryWrite of their concatenation
}

// sysTryWriter is a tryWriter for a connection with a file descriptor.
type sysTryWriter struct{ c syscall.Conn }

func (w sysTryWriter) TryWrite(p []byte) (int, error) { return sockio.TryWrite(w.c, p) }

func (w sysTryWriter) TryWriteBuffers(bufs [][]byte) (int, error) {
	return sockio.TryWriteBuffers(w.c, bufs)
}

// newTryWriter returns the tryWriter of c, or nil when c cannot be written
// without waiting (it is then always written by its writer goroutine).
func newTryWriter(c net.Conn) tryWriter {
	switch c := c.(type) {
	case tryWriter:
		return c
	case syscall.Conn:
		switch c.(type) {
		case *net.UnixConn, *net.TCPConn:
			return sysTryWriter{c}
		}
	}
	return nil
}
