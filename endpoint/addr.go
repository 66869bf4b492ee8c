package endpoint

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/switchboard-ipc/switchboard/activation"
)

// Kind is the form of an address.
type Kind int

// The address forms. The zero Kind is no form: the zero Addr is not an address.
const (
	Unix      Kind = iota + 1 // a Unix stream socket at a file path
	Abstract                  // a Linux abstract-namespace Unix socket (@name)
	TCP                       // a TCP host and port
	FD                        // an inherited, already-listening descriptor (fd:N)
	Activated                 // sockets handed over by a service manager (systemd:NAME, ...)
)

// String returns "unix", "abstract", "tcp", "fd" or "activated".
func (k Kind) String() string {
	switch k {
	case Unix:
		return "unix"
	case Abstract:
		return "abstract"
	case TCP:
		return "tcp"
	case FD:
		return "fd"
	case Activated:
		return "activated"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Addr is a parsed address. Only the fields of its Kind are set; the rest are
// zero, so two Addrs naming the same place in the same canonical form compare
// equal with ==.
type Addr struct {
	Kind    Kind
	Path    string             // Unix: file path as given; Abstract: name without '@'
	Host    string             // TCP: host ("" = all interfaces); IP literals in canonical form
	Port    string             // TCP: decimal port, "0" = any free port
	FD      int                // FD: descriptor number
	Manager activation.Manager // Activated: which service manager
	Name    string             // Activated: socket name
}

// schemes are the prefixes ParseAddr recognises, in the order it tries them.
var schemes = [...]string{"unix", "tcp", "fd", "systemd", "launchd", "activation"}

// allowed is appended to every parse error: the forms ParseAddr accepts.
const allowed = "allowed forms are /path, ./path, unix:PATH, @name (Linux), " +
	"tcp:HOST:PORT, HOST:PORT, :PORT, PORT, [IPv6]:PORT, fd:N, " +
	"systemd:NAME, launchd:NAME and activation:NAME"

// maxNameLen is the longest socket name systemd accepts (FileDescriptorName=).
const maxNameLen = 255

// ParseAddr parses an address in any of these forms:
//
//	/run/app.sock, ./app.sock, unix:app.sock   Unix stream socket at a path
//	@app                                       Linux abstract socket "app"
//	tcp:127.0.0.1:3000, 127.0.0.1:3000         TCP host and port
//	:3000, 3000                                TCP port on all interfaces
//	[::1]:3000, tcp:[::1]:3000                 TCP over IPv6
//	fd:3                                       inherited listening descriptor 3
//	systemd:app, launchd:app, activation:app   sockets named app from a service manager
//
// A string without a scheme is a path when it contains a '/', else TCP. A
// relative path whose first '/' comes after a ':' must start with ./ (else
// the part before the ':' would read as an unknown scheme). Paths are kept
// as given, not cleaned; they must be shorter than the platform's sun_path
// (108 bytes on Linux, 104 on darwin and the BSDs), and so must "@"+name.
//
// Every error is an *AddrError matching ErrBadAddr; a path or abstract name
// that is too long also matches ErrPathTooLong and holds a *PathTooLongError.
func ParseAddr(s string) (Addr, error) {
	if s == "" {
		return Addr{}, bad(s, "the address is empty")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Addr{}, bad(s, "the address contains a NUL byte")
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok {
		switch scheme {
		case "unix":
			return parseUnix(s, rest)
		case "tcp":
			return parseTCP(s, rest)
		case "fd":
			return parseFD(s, rest)
		case "systemd":
			return parseActivated(s, activation.Systemd, rest)
		case "launchd":
			return parseActivated(s, activation.Launchd, rest)
		case "activation":
			return parseActivated(s, activation.Any, rest)
		}
	}
	switch {
	case s[0] == '@':
		return parseAbstract(s, s[1:])
	case s[0] == '/' || s[0] == '.':
		return parseUnix(s, s)
	case strings.Contains(s, "/"):
		if colon := strings.IndexByte(s, ':'); colon >= 0 && colon < strings.IndexByte(s, '/') {
			return Addr{}, bad(s, "unknown scheme "+strconv.Quote(s[:colon+1])+
				" (a relative path containing ':' must start with ./)")
		}
		return parseUnix(s, s)
	}
	return parseTCP(s, s)
}

func bad(s, reason string) error {
	return &AddrError{Addr: s, Reason: reason + "; " + allowed}
}

func parseUnix(s, path string) (Addr, error) {
	switch {
	case path == "":
		return Addr{}, bad(s, "unix: needs a path")
	case path[0] == '@':
		return Addr{}, bad(s, "a Unix path cannot start with '@' (write @name for an abstract socket, ./@name for a file)")
	case strings.HasSuffix(path, "/"):
		return Addr{}, bad(s, "a Unix socket path names a file, not a directory (it ends in '/')")
	case len(path) >= sunPathLimit:
		err := &PathTooLongError{Path: path, Len: len(path), Limit: sunPathLimit}
		return Addr{}, &AddrError{Addr: s, Reason: err.Error()[len("endpoint: "):], Err: err}
	}
	return Addr{Kind: Unix, Path: path}, nil
}

func parseAbstract(s, name string) (Addr, error) {
	switch {
	case name == "":
		return Addr{}, bad(s, "@ needs a name")
	case len(s) >= sunPathLimit:
		err := &PathTooLongError{Path: s, Len: len(s), Limit: sunPathLimit}
		return Addr{}, &AddrError{Addr: s, Reason: err.Error()[len("endpoint: "):], Err: err}
	}
	return Addr{Kind: Abstract, Path: name}, nil
}

func parseTCP(s, hostport string) (Addr, error) {
	if hostport == "" {
		return Addr{}, bad(s, "tcp: needs HOST:PORT, :PORT or PORT")
	}
	if isDigits(hostport) {
		port, err := parsePort(s, hostport)
		if err != nil {
			return Addr{}, err
		}
		return Addr{Kind: TCP, Port: port}, nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		var reason string
		switch {
		case strings.Count(hostport, ":") > 1 && !strings.HasPrefix(hostport, "["):
			reason = "an IPv6 host goes in brackets, as in [::1]:3000"
		case !strings.Contains(hostport, ":"):
			reason = "a TCP address needs a port (HOST:PORT, :PORT or PORT), and a path needs a '/' (./" + hostport + ")"
		default:
			reason = "not a HOST:PORT pair"
		}
		return Addr{}, bad(s, reason)
	}
	if port, err = parsePort(s, port); err != nil {
		return Addr{}, err
	}
	if host, err = canonHost(s, host); err != nil {
		return Addr{}, err
	}
	return Addr{Kind: TCP, Host: host, Port: port}, nil
}

func parsePort(s, port string) (string, error) {
	if !isDigits(port) {
		return "", bad(s, "the port "+strconv.Quote(port)+" is not a number from 0 to 65535 (service names are not looked up)")
	}
	p := strings.TrimLeft(port, "0")
	if len(p) > 5 {
		return "", bad(s, "the port "+port+" is larger than 65535")
	}
	n, _ := strconv.Atoi("0" + p)
	if n > 65535 {
		return "", bad(s, "the port "+port+" is larger than 65535")
	}
	return strconv.Itoa(n), nil
}

// canonHost returns host in canonical form: IP literals as netip prints them,
// host names as given.
func canonHost(s, host string) (string, error) {
	if host == "" {
		return "", nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !isLabel(ip.Zone()) {
			return "", bad(s, "the IPv6 zone "+strconv.Quote(ip.Zone())+" is not an interface name (letters, digits, '-', '_', '.')")
		}
		return ip.String(), nil
	}
	if strings.Contains(host, ":") || strings.Contains(host, "%") {
		return "", bad(s, "the host "+strconv.Quote(host)+" is not a valid IPv6 address")
	}
	if strings.Trim(host, "0123456789.") == "" {
		return "", bad(s, "the host "+strconv.Quote(host)+" is not a valid IPv4 address (four numbers 0-255 without leading zeros)")
	}
	if len(host) > 253 {
		return "", bad(s, "the host name is longer than 253 bytes")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || len(label) > 63 {
			return "", bad(s, "the host "+strconv.Quote(host)+" is not an IP address or a host name (labels of letters, digits, '-' and '_', 1 to 63 long, separated by '.')")
		}
		if !isLabel(label) {
			return "", bad(s, "the host "+strconv.Quote(host)+" is not an IP address or a host name (letters, digits, '-', '_' and '.')")
		}
	}
	return host, nil
}

func parseFD(s, num string) (Addr, error) {
	if !isDigits(num) {
		return Addr{}, bad(s, "fd: needs a descriptor number, as in fd:3")
	}
	p := strings.TrimLeft(num, "0")
	if len(p) > 10 {
		return Addr{}, bad(s, "the descriptor number is too large")
	}
	n, err := strconv.ParseInt("0"+p, 10, 32)
	if err != nil {
		return Addr{}, bad(s, "the descriptor number is too large")
	}
	return Addr{Kind: FD, FD: int(n)}, nil
}

func parseActivated(s string, m activation.Manager, name string) (Addr, error) {
	prefix := m.String() + ":"
	if name == "" {
		return Addr{}, bad(s, prefix+" needs a socket name, as in "+prefix+"app")
	}
	if len(name) > maxNameLen {
		return Addr{}, bad(s, "the socket name is longer than "+strconv.Itoa(maxNameLen)+" bytes")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c > '~' || c == ':' {
			return Addr{}, bad(s, "the socket name contains "+strconv.QuoteRune(rune(c))+"; names are printable ASCII without ':'")
		}
	}
	return Addr{Kind: Activated, Manager: m, Name: name}, nil
}

// isLabel reports whether s holds only letters, digits, '-', '_' and '.'.
func isLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the canonical form of a, which ParseAddr parses back to a:
// an absolute or ./ or ../ path as is and other paths as unix:PATH, @name,
// HOST:PORT (with brackets for IPv6, and a tcp: prefix where the host is a
// scheme name such as "fd"), fd:N, and systemd:NAME, launchd:NAME or
// activation:NAME. The zero Addr (and any Addr of an unknown Kind) gives "".
func (a Addr) String() string {
	switch a.Kind {
	case Unix:
		if strings.HasPrefix(a.Path, "/") || strings.HasPrefix(a.Path, "./") || strings.HasPrefix(a.Path, "../") {
			return a.Path
		}
		return "unix:" + a.Path
	case Abstract:
		return "@" + a.Path
	case TCP:
		hp := net.JoinHostPort(a.Host, a.Port)
		for _, sc := range schemes {
			if a.Host == sc {
				return "tcp:" + hp
			}
		}
		return hp
	case FD:
		return "fd:" + strconv.Itoa(a.FD)
	case Activated:
		return a.Manager.String() + ":" + a.Name
	}
	return ""
}

// Network returns the Go network name of a for net.Dial and net.Listen:
// "unix" for Unix, Abstract, "tcp" for TCP, "" for the others.
func (a Addr) Network() string {
	switch a.Kind {
	case Unix, Abstract:
		return "unix"
	case TCP:
		return "tcp"
	}
	return ""
}

// dialString returns the address string net.Dial takes for a Unix, Abstract
// or TCP Addr.
func (a Addr) dialString() string {
	switch a.Kind {
	case Unix:
		return a.Path
	case Abstract:
		return "@" + a.Path
	case TCP:
		return net.JoinHostPort(a.Host, a.Port)
	}
	return ""
}
