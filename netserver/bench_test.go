package netserver

import (
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkAcceptClose measures accepted-and-closed connections per second:
// each iteration dials, the server admits the connection and its (nil)
// handler closes it, and the client reads EOF.
func BenchmarkAcceptClose(b *testing.B) {
	for _, tc := range []struct {
		name   string
		listen func(testing.TB) net.Listener
	}{{"tcp", listenTCP}, {"unix", listenUnix}} {
		b.Run(tc.name, func(b *testing.B) {
			s := &Server{}
			l := tc.listen(b)
			errCh := make(chan error, 1)
			go func() { errCh <- s.Serve(l) }()
			addr := l.Addr()
			buf := make([]byte, 1)
			b.ReportAllocs()
			for b.Loop() {
				c, err := net.Dial(addr.Network(), addr.String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(buf); err != io.EOF {
					b.Fatalf("read = %v, want EOF", err)
				}
				c.Close()
			}
			b.StopTimer()
			s.Close()
			<-errCh
		})
	}
}

// memConn is a net.Conn whose Read and Write complete at once, so the
// benchmarks below measure only the cost Conn adds per call.
type memConn struct{ net.Conn }

func (memConn) Read(p []byte) (int, error)         { return len(p), nil }
func (memConn) Write(p []byte) (int, error)        { return len(p), nil }
func (memConn) SetReadDeadline(time.Time) error    { return nil }
func (memConn) Close() error                       { return nil }
func (memConn) RemoteAddr() net.Addr               { return pipeAddr{} }
func (memConn) SetDeadline(t time.Time) error      { return nil }
func (memConn) SetWriteDeadline(t time.Time) error { return nil }

func newBenchConn(s *Server, raw net.Conn) *Conn {
	c := s.newConn(raw)
	c.startDeadlines()
	return c
}

// BenchmarkConnOverhead compares Read and Write of 512 bytes on a bare
// connection with the same calls through *Conn, with and without an idle
// timeout. "mem" isolates the wrapper's cost; "unix" includes real system
// calls, where "naive-deadline" sets the read deadline on every Read as a
// wrapper without lazy renewal would.
func BenchmarkConnOverhead(b *testing.B) {
	buf := make([]byte, 512)
	run := func(b *testing.B, rw io.ReadWriter, write bool, before func()) {
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			if before != nil {
				before()
			}
			var err error
			if write {
				_, err = rw.Write(buf)
			} else {
				_, err = rw.Read(buf)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, op := range []string{"read", "write"} {
		write := op == "write"
		b.Run("mem/"+op+"/raw", func(b *testing.B) { run(b, memConn{}, write, nil) })
		b.Run("mem/"+op+"/conn", func(b *testing.B) { run(b, newBenchConn(&Server{}, memConn{}), write, nil) })
		b.Run("mem/"+op+"/conn-idle", func(b *testing.B) {
			run(b, newBenchConn(&Server{IdleTimeout: time.Minute}, memConn{}), write, nil)
		})
	}

	// Unix socket pair: a goroutine keeps the other end busy so that every
	// Read finds data and every Write finds room.
	unixPair := func(b *testing.B) (local, remote net.Conn) {
		l := listenUnix(b)
		defer l.Close()
		remote, err := net.Dial("unix", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		local, err = l.Accept()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { local.Close(); remote.Close() })
		return local, remote
	}
	for _, op := range []string{"read", "write"} {
		write := op == "write"
		pump := func(remote net.Conn) {
			if write {
				go io.Copy(io.Discard, remote)
			} else {
				go func() {
					p := make([]byte, 64<<10)
					for {
						if _, err := remote.Write(p); err != nil {
							return
						}
					}
				}()
			}
		}
		variants := []struct {
			name string
			wrap func(net.Conn) (io.ReadWriter, func())
		}{
			{"raw", func(c net.Conn) (io.ReadWriter, func()) { return c, nil }},
			{"naive-deadline", func(c net.Conn) (io.ReadWriter, func()) {
				return c, func() { c.SetReadDeadline(time.Now().Add(time.Minute)) }
			}},
			{"conn", func(c net.Conn) (io.ReadWriter, func()) { return newBenchConn(&Server{}, c), nil }},
			{"conn-idle", func(c net.Conn) (io.ReadWriter, func()) {
				return newBenchConn(&Server{IdleTimeout: time.Minute}, c), nil
			}},
		}
		for _, v := range variants {
			if write && v.name == "naive-deadline" {
				continue
			}
			b.Run("unix/"+op+"/"+v.name, func(b *testing.B) {
				local, remote := unixPair(b)
				pump(remote)
				rw, before := v.wrap(local)
				run(b, rw, write, before)
			})
		}
	}
}
