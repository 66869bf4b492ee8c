package activation

import (
	"errors"
	"net"
	"os"
	"sync"
)

// Collector collects inherited sockets. Its zero value collects from whichever
// manager started the process and unsets the systemd variables afterwards;
// the package-level functions use it.
//
// What has been collected is recorded process-wide, not per Collector: every
// name is handed out once per process, whichever Collector asks.
type Collector struct {
	// Manager is the service manager to collect from. Any (the zero value)
	// takes systemd's sockets when LISTEN_FDS is set, else launchd's on darwin.
	Manager Manager

	// KeepEnv keeps LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES in the
	// environment after collecting. By default they are unset, so that a
	// child process started later does not mistake this process's sockets for
	// its own (the variables would be wrong for it, and the descriptors are
	// close-on-exec anyway).
	KeepEnv bool
}

// Files returns the sockets handed over under name, in the order the manager
// passed them, as *os.File. The caller owns them and must close them. The
// descriptors are close-on-exec.
func (c Collector) Files(name string) ([]*os.File, error) {
	return c.collect(name, wantAny)
}

// Listeners returns the listening stream (or seqpacket) sockets handed over
// under name, in order. Every descriptor must be a listening socket; otherwise
// the call fails with ErrBadSocket and nothing is collected.
//
// Closing a returned listener closes this process's copy of the socket only: it
// never calls shutdown(2), which would stop the manager's copy too, and a Unix
// listener never unlinks its path, which belongs to the manager.
func (c Collector) Listeners(name string) ([]net.Listener, error) {
	files, err := c.collect(name, wantListener)
	if err != nil {
		return nil, err
	}
	ls := make([]net.Listener, 0, len(files))
	for i, f := range files {
		l, err := net.FileListener(f) // dups the descriptor
		f.Close()
		if err != nil {
			closeAll(ls)
			closeFiles(files[i+1:])
			return nil, &Error{Manager: c.Manager, Name: name, Err: ErrBadSocket, Detail: err.Error()}
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the path belongs to the manager
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// PacketConns returns the datagram sockets handed over under name, in order.
// Every descriptor must be a datagram socket; otherwise the call fails with
// ErrBadSocket and nothing is collected.
func (c Collector) PacketConns(name string) ([]net.PacketConn, error) {
	files, err := c.collect(name, wantPacket)
	if err != nil {
		return nil, err
	}
	pcs := make([]net.PacketConn, 0, len(files))
	for i, f := range files {
		pc, err := net.FilePacketConn(f) // dups the descriptor
		f.Close()
		if err != nil {
			closeAll(pcs)
			closeFiles(files[i+1:])
			return nil, &Error{Manager: c.Manager, Name: name, Err: ErrBadSocket, Detail: err.Error()}
		}
		pcs = append(pcs, pc)
	}
	return pcs, nil
}

func (c Collector) collect(name string, want socketKind) ([]*os.File, error) {
	switch c.Manager {
	case Systemd:
		return collectSystemd(c, name, want)
	case Launchd:
		return collectLaunchd(c, name, want)
	case Any:
		files, err := collectSystemd(c, name, want)
		if err == nil || !errors.Is(err, ErrNotActivated) || errors.Is(err, ErrOtherProcess) {
			return files, err
		}
		files, lerr := collectLaunchd(c, name, want)
		if lerr == nil || !errors.Is(lerr, ErrNotActivated) {
			return files, lerr
		}
		detail := "neither systemd (" + envFDs + " is not set) nor launchd started this process"
		if errors.Is(lerr, ErrNotSupported) {
			detail = envFDs + " is not set"
		}
		return nil, &Error{Manager: Any, Name: name, Err: ErrNotActivated, Detail: detail}
	}
	return nil, &Error{Manager: c.Manager, Name: name, Err: ErrNotSupported, Detail: "unknown manager"}
}

// socketKind is what a collecting function accepts.
type socketKind int

const (
	wantAny      socketKind = iota // any socket (Files)
	wantListener                   // a listening stream or seqpacket socket
	wantPacket                     // a datagram socket
)

// collected records, process-wide, which names have been handed out.
var collected struct {
	mu    sync.Mutex
	names map[collectedKey]bool // guarded by mu
}

type collectedKey struct {
	m    Manager
	name string
}

// The package-level functions use the zero Collector: any manager, and the
// systemd variables are unset after collecting.

// Files returns the sockets handed over under name by whichever manager
// started the process. See Collector.Files.
func Files(name string) ([]*os.File, error) { return Collector{}.Files(name) }

// Listeners returns the listening sockets handed over under name by whichever
// manager started the process. See Collector.Listeners.
func Listeners(name string) ([]net.Listener, error) { return Collector{}.Listeners(name) }

// PacketConns returns the datagram sockets handed over under name by whichever
// manager started the process. See Collector.PacketConns.
func PacketConns(name string) ([]net.PacketConn, error) { return Collector{}.PacketConns(name) }

// ListenersFrom returns the listening sockets handed over under name by the
// manager m (Any for whichever started the process). Package endpoint resolves
// the addresses systemd:NAME, launchd:NAME and activation:NAME with it.
func ListenersFrom(m Manager, name string) ([]net.Listener, error) {
	return Collector{Manager: m}.Listeners(name)
}

// FilesFrom is Files for the manager m.
func FilesFrom(m Manager, name string) ([]*os.File, error) {
	return Collector{Manager: m}.Files(name)
}

// PacketConnsFrom is PacketConns for the manager m.
func PacketConnsFrom(m Manager, name string) ([]net.PacketConn, error) {
	return Collector{Manager: m}.PacketConns(name)
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func closeAll[T interface{ Close() error }](xs []T) {
	for _, x := range xs {
		x.Close()
	}
}
