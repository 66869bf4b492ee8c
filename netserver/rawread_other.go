//go:build !unix

package netserver

import "net"

// rawReader reads a connection's socket directly; there is none on this
// platform: ReadLazy reads with Read.
type rawReader struct{}

func newRawReader(net.Conn) *rawReader { return nil }

func (r *rawReader) readLazy(get func() []byte, release func()) ([]byte, error) {
	panic("unreachable")
}
