package channel

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// errHostAlive: a live host already listens on the path; connect instead.
var errHostAlive = errors.New("channel: a live host holds the socket")

// The election. A member that finds no host (the socket file is missing or
// nobody accepts on it) calls endpoint.Listen on the channel's path.
// endpoint holds an exclusive flock on the sibling ".lock" file across the
// probe, the removal of a stale socket and the bind, so of any number of
// candidates exactly one binds; the others find it alive (ErrAddrInUse) and
// connect to it. The winner's listener removes the socket file on Close
// only while it is still the one it bound.

// bindHost tries to become the host. It returns errHostAlive when a live
// host answers on path.
func bindHost(ctx context.Context, path string) (net.Listener, error) {
	ln, err := endpoint.Listen(ctx, "unix:"+path)
	if errors.Is(err, endpoint.ErrAddrInUse) && !errors.Is(err, endpoint.ErrNotSocket) {
		return nil, errHostAlive
	}
	return ln, err
}

// noHost reports whether a dial error means nobody hosts the channel: the
// socket file is missing or nobody accepts on it.
func noHost(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// dialHost connects to the host at path.
func dialHost(ctx context.Context, path string) (net.Conn, error) {
	return endpoint.Dial(ctx, "unix:"+path)
}
