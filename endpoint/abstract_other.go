//go:build !linux

package endpoint

import "net"

const abstractSupported = false

func listenAbstract(c config, a Addr) (net.Listener, error) {
	return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSupported, Detail: "abstract sockets exist only on Linux"}
}
