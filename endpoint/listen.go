package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/activation"
)

// DefaultBacklog is the listen backlog when ListenConfig.Backlog is 0, Node's
// default.
const DefaultBacklog = 511

// DefaultSocketMode is the mode of a Unix socket file when
// ListenConfig.SocketMode is 0: only the owner may connect.
const DefaultSocketMode os.FileMode = 0o600

// ListenConfig holds the options of a listener. The zero value is valid and
// gives the defaults documented on each field. Fields that do not apply to an
// address form are ignored for it.
type ListenConfig struct {
	// SocketMode is the permission of a Unix socket file, set before the
	// socket starts listening, so it is never reachable with a wider mode.
	// 0 means DefaultSocketMode (0600). Only permission bits are allowed.
	// Abstract sockets have no mode: authorise their peers with PeerOf.
	SocketMode os.FileMode

	// Shared sets SO_REUSEPORT on a TCP listener so that several listeners,
	// in one process or many, can share a port (Node's exclusive: false).
	// Every one of them must set it. Not supported on Windows.
	Shared bool

	// Backlog is the length of the queue of connections not yet accepted.
	// 0 means DefaultBacklog (511); the kernel caps it at its own maximum
	// (somaxconn). It applies to the sockets Listen creates, not to fd: and
	// activated ones, and is ignored on Windows.
	Backlog int

	// KeepAlive is the TCP keep-alive period of accepted connections: 0 uses
	// Go's default (enabled, 15s), a negative value turns keep-alive off.
	KeepAlive time.Duration

	// NoDelay sets TCP_NODELAY on accepted TCP connections; nil keeps Go's
	// default (true, Nagle's algorithm off).
	NoDelay *bool
}

// Listen listens on addr (any form ParseAddr accepts) with the default
// ListenConfig. See ListenConfig.Listen.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(ctx, addr)
}

// ListenAll is Listen returning every listener an address stands for: all
// the sockets a service manager handed over under an activated name, one
// listener for the other forms.
func ListenAll(ctx context.Context, addr string) ([]net.Listener, error) {
	var lc ListenConfig
	return lc.ListenAll(ctx, addr)
}

// Listen parses addr and listens on it. ctx bounds host-name resolution and
// the wait for another process starting on the same Unix socket path; once
// Listen returns, ctx no longer matters.
//
// For a Unix socket path, Listen creates the parent directory with mode 0700
// when it is missing, binds, sets SocketMode and only then listens. When the
// path is taken, it decides under an exclusive flock on the sibling file
// PATH.lock: a socket nobody accepts on (connect is refused) is removed and
// the bind retried; a socket a server accepts on gives an error matching
// ErrAddrInUse; anything else (not a socket, permission denied, a timeout) is
// an error and nothing is removed. Of several processes starting at once,
// exactly one gets the listener. The returned listener removes the socket file
// on Close, if the path still names the socket it created. The lock file stays
// while the socket exists and is removed with it.
//
// The probe is a real connection: a running server sees it accepted and
// closed at once, without a byte sent.
//
// For the per-user directory of DefaultAddr under the temporary directory,
// Listen refuses (ErrInsecureDir) a directory that is not owned by the user or
// is open to others.
//
// An fd:N address takes over descriptor N, which must be a listening stream
// socket; N is closed once duplicated. An activated address (systemd:NAME,
// launchd:NAME, activation:NAME) collects the sockets of that name from the
// service manager; when there are several, Listen returns the first and
// closes the others (use ListenAll to keep them all). Listeners on inherited
// sockets never remove a socket file.
func (lc *ListenConfig) Listen(ctx context.Context, addr string) (net.Listener, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return lc.ListenAddr(ctx, a)
}

// ListenAll is like Listen but returns every listener of an activated name.
func (lc *ListenConfig) ListenAll(ctx context.Context, addr string) ([]net.Listener, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return lc.ListenAllAddr(ctx, a)
}

// ListenAddr is Listen on a parsed address. An Addr built by hand is checked
// as ParseAddr would check its String.
func (lc *ListenConfig) ListenAddr(ctx context.Context, a Addr) (net.Listener, error) {
	a, err := recheck(a)
	if err != nil {
		return nil, err
	}
	if a.Kind == Activated {
		ls, err := lc.ListenAllAddr(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, l := range ls[1:] {
			l.Close()
		}
		return ls[0], nil
	}
	c, err := lc.config(a)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	switch a.Kind {
	case Unix:
		return listenUnix(ctx, c, a)
	case Abstract:
		return listenAbstract(c, a)
	case TCP:
		return listenTCP(ctx, c, a)
	case FD:
		return listenFD(c, a)
	}
	return nil, &AddrError{Addr: a.String(), Reason: "the Addr has no valid Kind; " + allowed}
}

// recheck parses a.String() again, so that an Addr built by hand (an empty
// path, a negative descriptor) is held to the rules of ParseAddr.
func recheck(a Addr) (Addr, error) {
	if a.Kind < Unix || a.Kind > Activated {
		return Addr{}, &AddrError{Addr: a.String(), Reason: "the Addr has no valid Kind (" + a.Kind.String() + "); " + allowed}
	}
	return ParseAddr(a.String())
}

// ListenAllAddr is ListenAll on a parsed address.
func (lc *ListenConfig) ListenAllAddr(ctx context.Context, a Addr) ([]net.Listener, error) {
	a, err := recheck(a)
	if err != nil {
		return nil, err
	}
	if a.Kind != Activated {
		l, err := lc.ListenAddr(ctx, a)
		if err != nil {
			return nil, err
		}
		return []net.Listener{l}, nil
	}
	c, err := lc.config(a)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	ls, err := activation.ListenersFrom(a.Manager, a.Name)
	if err != nil {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	if len(ls) == 0 {
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: activation.ErrNoSuchSocket}
	}
	for i, l := range ls {
		ls[i] = c.adopt(l)
	}
	return ls, nil
}

// config is a validated ListenConfig with the defaults filled in.
type config struct {
	mode      os.FileMode
	shared    bool
	backlog   int
	keepAlive time.Duration
	noDelay   *bool
}

func (lc *ListenConfig) config(a Addr) (config, error) {
	c := config{mode: DefaultSocketMode, backlog: DefaultBacklog}
	if lc == nil {
		return c, nil
	}
	if lc.SocketMode&^os.ModePerm != 0 {
		return c, &OpError{Op: "listen", Addr: a.String(), Err: ErrBadConfig,
			Detail: "SocketMode " + lc.SocketMode.String() + " has bits other than permissions (0 to 0777 allowed)"}
	}
	if lc.Backlog < 0 {
		return c, &OpError{Op: "listen", Addr: a.String(), Err: ErrBadConfig,
			Detail: "Backlog " + strconv.Itoa(lc.Backlog) + " is negative (0 means the default, 511)"}
	}
	if lc.SocketMode != 0 {
		c.mode = lc.SocketMode
	}
	if lc.Backlog != 0 {
		c.backlog = lc.Backlog
	}
	c.shared = lc.Shared
	c.keepAlive = lc.KeepAlive
	c.noDelay = lc.NoDelay
	return c, nil
}

// adopt applies the options that still can be applied to an inherited
// listener, and makes sure closing it never removes a socket file.
func (c config) adopt(l net.Listener) net.Listener {
	switch l := l.(type) {
	case *net.UnixListener:
		l.SetUnlinkOnClose(false)
	case *net.TCPListener:
		if c.keepAlive != 0 || c.noDelay != nil {
			return &tcpListener{TCPListener: l, keepAlive: c.keepAlive, noDelay: c.noDelay}
		}
	}
	return l
}

// tcpListener applies keep-alive and no-delay settings to every accepted
// connection.
type tcpListener struct {
	*net.TCPListener
	keepAlive time.Duration // 0: leave as accepted
	noDelay   *bool
}

var _ net.Listener = (*tcpListener)(nil)

// Accept waits for the next connection and returns it as a *net.TCPConn.
func (l *tcpListener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptTCP waits for the next connection and applies the settings to it.
func (l *tcpListener) AcceptTCP() (*net.TCPConn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	switch {
	case l.keepAlive > 0:
		c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: l.keepAlive, Interval: l.keepAlive})
	case l.keepAlive < 0:
		c.SetKeepAlive(false)
	}
	if l.noDelay != nil {
		c.SetNoDelay(*l.noDelay)
	}
	return c, nil
}

// listenTCP listens with net.ListenConfig (which resolves host names and
// handles dual-stack wildcards), then sets the backlog by calling listen(2)
// again, which updates it on a listening socket.
func listenTCP(ctx context.Context, c config, a Addr) (net.Listener, error) {
	nlc := net.ListenConfig{KeepAlive: c.keepAlive}
	if c.shared {
		if !reusePortSupported {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSupported, Detail: "Shared (SO_REUSEPORT) is not available on this platform"}
		}
		nlc.Control = setReusePort
	}
	l, err := nlc.Listen(ctx, "tcp", a.dialString())
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrAddrInUse, Detail: "another socket is bound to that port"}
		}
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err}
	}
	tl := l.(*net.TCPListener)
	if err := setBacklog(tl, c.backlog); err != nil {
		tl.Close()
		return nil, &OpError{Op: "listen", Addr: a.String(), Err: err, Detail: "setting the backlog"}
	}
	if c.noDelay != nil {
		return &tcpListener{TCPListener: tl, noDelay: c.noDelay}, nil
	}
	return tl, nil
}
