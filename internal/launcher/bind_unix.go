//go:build unix

package launcher

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// socket is one bound address.
type socket struct {
	addr     string
	file     *os.File     // a duplicate of the descriptor, handed to children
	listener net.Listener // stream sockets: accepts in Accept mode
	closer   io.Closer    // closed when the launcher exits
	remove   string       // a Unix socket file this launcher created, removed at exit
}

func (s *socket) close() {
	if s.file != nil {
		s.file.Close()
	}
	if s.closer != nil {
		s.closer.Close()
	}
	if s.remove != "" {
		os.Remove(s.remove)
	}
}

type filer interface{ File() (*os.File, error) }

// bind binds addr as a socket of type typ.
func bind(ctx context.Context, addr string, typ SocketType) (*socket, error) {
	s := &socket{addr: addr}
	switch typ {
	case Stream:
		var lc endpoint.ListenConfig
		l, err := lc.Listen(ctx, addr)
		if err != nil {
			return nil, err
		}
		s.listener, s.closer = l, l
	default:
		a, err := endpoint.ParseAddr(addr)
		if err != nil {
			return nil, err
		}
		var network string
		switch {
		case typ == Datagram && a.Kind == endpoint.TCP:
			pc, err := net.ListenPacket("udp", net.JoinHostPort(a.Host, a.Port))
			if err != nil {
				return nil, err
			}
			s.closer = pc
		case a.Kind != endpoint.Unix && a.Kind != endpoint.Abstract:
			return nil, fmt.Errorf("launcher: cannot bind %s as a %s socket: use a Unix path or @name%s",
				addr, typeName(typ), map[bool]string{true: ", or HOST:PORT for UDP"}[typ == Datagram])
		case typ == Datagram:
			network = "unixgram"
		default:
			network = "unixpacket"
		}
		if network != "" {
			ua := &net.UnixAddr{Name: a.Path, Net: network}
			if a.Kind == endpoint.Abstract {
				ua.Name = "@" + a.Path
			}
			if network == "unixgram" {
				c, err := net.ListenUnixgram(network, ua)
				if err != nil {
					return nil, err
				}
				s.closer = c
			} else {
				l, err := net.ListenUnix(network, ua) // removes its file on Close
				if err != nil {
					return nil, err
				}
				s.listener, s.closer = l, l
			}
			if a.Kind == endpoint.Unix {
				if network == "unixgram" {
					s.remove = a.Path
				}
				if err := os.Chmod(a.Path, endpoint.DefaultSocketMode); err != nil {
					s.close()
					return nil, err
				}
			}
		}
	}
	f, err := s.closer.(filer).File() // a duplicate in blocking mode
	if err != nil {
		s.close()
		return nil, err
	}
	s.file = f
	return s, nil
}

func typeName(t SocketType) string {
	switch t {
	case Datagram:
		return "datagram"
	case SeqPacket:
		return "seqpacket"
	}
	return "stream"
}
