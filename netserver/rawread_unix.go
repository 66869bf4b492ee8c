//go:build unix

package netserver

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawReader reads a connection's socket directly, so that it can wait for
// bytes before taking the buffer to read them into (see Conn.ReadLazy). Its
// fields are set for the length of one read; read is the closure given to
// the RawConn, made once so that a read does not allocate.
type rawReader struct {
	conn    net.Conn
	rc      syscall.RawConn
	read    func(fd uintptr) bool
	get     func() []byte
	release func()
	p       []byte
	err     error
	eof     bool
}

// newRawReader returns a rawReader for c, or nil when c is not a stream
// socket with a file descriptor.
func newRawReader(c net.Conn) *rawReader {
	switch c.(type) {
	case *net.UnixConn, *net.TCPConn:
	default:
		return nil
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{conn: c, rc: rc}
	r.read = r.readFD
	return r
}

// readFD reads once from fd into get(). When the socket has nothing to
// read it calls release and returns false: the runtime's poller then waits
// until the socket is readable, holding no buffer of ours, and calls it
// again.
func (r *rawReader) readFD(fd uintptr) bool {
	b := r.get()
	if len(b) == 0 {
		r.p = b
		return true
	}
	for {
		n, err := syscall.Read(int(fd), b)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.release()
			return false
		}
		r.p, r.err = b[:max(n, 0)], err
		r.eof = n == 0 && err == nil
		return true
	}
}

// readLazy reads like the connection's Read, with the buffer of get (see
// Conn.ReadLazy), and returns the same errors: io.EOF at the end of the
// stream, a *net.OpError of Op "read" otherwise.
func (r *rawReader) readLazy(get func() []byte, release func()) ([]byte, error) {
	r.get, r.release = get, release
	err := r.rc.Read(r.read)
	p, serr, eof := r.p, r.err, r.eof
	r.get, r.release, r.p, r.err, r.eof = nil, nil, nil, nil, false
	switch {
	case err != nil:
		// A deadline or a closed connection, reported as by Read.
		if oe, ok := err.(*net.OpError); ok {
			oe.Op = "read"
		}
		return nil, err
	case serr != nil:
		return nil, &net.OpError{Op: "read", Net: r.conn.LocalAddr().Network(),
			Source: r.conn.LocalAddr(), Addr: r.conn.RemoteAddr(), Err: os.NewSyscallError("read", serr)}
	case eof:
		return p, io.EOF
	}
	return p, nil
}
