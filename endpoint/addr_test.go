package endpoint

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-ipc/switchboard/activation"
)

func TestParseAddrForms(t *testing.T) {
	tests := []struct {
		in    string
		want  Addr
		canon string
	}{
		{"/run/app.sock", Addr{Kind: Unix, Path: "/run/app.sock"}, "/run/app.sock"},
		{"./app.sock", Addr{Kind: Unix, Path: "./app.sock"}, "./app.sock"},
		{"../run/app.sock", Addr{Kind: Unix, Path: "../run/app.sock"}, "../run/app.sock"},
		{"run/app.sock", Addr{Kind: Unix, Path: "run/app.sock"}, "unix:run/app.sock"},
		{"unix:/run/app.sock", Addr{Kind: Unix, Path: "/run/app.sock"}, "/run/app.sock"},
		{"unix:app.sock", Addr{Kind: Unix, Path: "app.sock"}, "unix:app.sock"},
		{"unix:fd:3", Addr{Kind: Unix, Path: "fd:3"}, "unix:fd:3"},
		{"/tmp/a:b.sock", Addr{Kind: Unix, Path: "/tmp/a:b.sock"}, "/tmp/a:b.sock"},
		{"./x:y/z.sock", Addr{Kind: Unix, Path: "./x:y/z.sock"}, "./x:y/z.sock"},
		{"/tmp/my app.sock", Addr{Kind: Unix, Path: "/tmp/my app.sock"}, "/tmp/my app.sock"},
		{"@app", Addr{Kind: Abstract, Path: "app"}, "@app"},
		{"@a/b:c", Addr{Kind: Abstract, Path: "a/b:c"}, "@a/b:c"},
		{"tcp:127.0.0.1:3000", Addr{Kind: TCP, Host: "127.0.0.1", Port: "3000"}, "127.0.0.1:3000"},
		{"127.0.0.1:3000", Addr{Kind: TCP, Host: "127.0.0.1", Port: "3000"}, "127.0.0.1:3000"},
		{":3000", Addr{Kind: TCP, Port: "3000"}, ":3000"},
		{"3000", Addr{Kind: TCP, Port: "3000"}, ":3000"},
		{"0", Addr{Kind: TCP, Port: "0"}, ":0"},
		{"03000", Addr{Kind: TCP, Port: "3000"}, ":3000"},
		{"tcp:3000", Addr{Kind: TCP, Port: "3000"}, ":3000"},
		{"tcp::3000", Addr{Kind: TCP, Port: "3000"}, ":3000"},
		{"[::1]:3000", Addr{Kind: TCP, Host: "::1", Port: "3000"}, "[::1]:3000"},
		{"tcp:[0:0::1]:3000", Addr{Kind: TCP, Host: "::1", Port: "3000"}, "[::1]:3000"},
		{"[fe80::1%eth0]:80", Addr{Kind: TCP, Host: "fe80::1%eth0", Port: "80"}, "[fe80::1%eth0]:80"},
		{"[127.0.0.1]:80", Addr{Kind: TCP, Host: "127.0.0.1", Port: "80"}, "127.0.0.1:80"},
		{"localhost:65535", Addr{Kind: TCP, Host: "localhost", Port: "65535"}, "localhost:65535"},
		{"tcp:fd:3", Addr{Kind: TCP, Host: "fd", Port: "3"}, "tcp:fd:3"},
		{"tcp:unix:80", Addr{Kind: TCP, Host: "unix", Port: "80"}, "tcp:unix:80"},
		{"fd:3", Addr{Kind: FD, FD: 3}, "fd:3"},
		{"fd:0", Addr{Kind: FD, FD: 0}, "fd:0"},
		{"fd:007", Addr{Kind: FD, FD: 7}, "fd:7"},
		{"systemd:app", Addr{Kind: Activated, Manager: activation.Systemd, Name: "app"}, "systemd:app"},
		{"launchd:Listeners", Addr{Kind: Activated, Manager: activation.Launchd, Name: "Listeners"}, "launchd:Listeners"},
		{"activation:app", Addr{Kind: Activated, Manager: activation.Any, Name: "app"}, "activation:app"},
		{"systemd:my app.socket", Addr{Kind: Activated, Manager: activation.Systemd, Name: "my app.socket"}, "systemd:my app.socket"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAddr(tt.in)
			if err != nil {
				t.Fatalf("ParseAddr(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAddr(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.canon {
				t.Fatalf("String() = %q, want %q", s, tt.canon)
			}
			again, err := ParseAddr(got.String())
			if err != nil || again != got {
				t.Fatalf("ParseAddr(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseAddrInvalid(t *testing.T) {
	long := "/" + strings.Repeat("x", sunPathLimit)
	tests := []struct {
		in   string
		want string // a piece of the reason
	}{
		{"", "empty"},
		{"/run/a\x00b", "NUL"},
		{"unix:", "needs a path"},
		{"unix:@x", "cannot start with '@'"},
		{"/run/", "not a directory"},
		{long, "sun_path"},
		{"@", "needs a name"},
		{"@" + strings.Repeat("a", sunPathLimit), "sun_path"},
		{"tcp:", "needs HOST:PORT"},
		{"app.sock", "needs a port"},
		{"localhost", "needs a port"},
		{"127.0.0.1:http", "not a number"},
		{"127.0.0.1:", "not a number"},
		{"65536", "larger than 65535"},
		{":99999999", "larger than 65535"},
		{"-1", "needs a port"},
		{"::1:3000", "brackets"},
		{"[::1]", "not a HOST:PORT"},
		{"[::1:3000", "not a HOST:PORT"},
		{"[fe80::1%a b]:80", "zone"},
		{"[zz::1]:80", "not a valid IPv6"},
		{"ex ample.com:80", "not an IP address or a host name"},
		{"127.000.0.1:80", "not a valid IPv4"},
		{"1.2.3:80", "not a valid IPv4"},
		{"-bad.com:80", "not an IP address or a host name"},
		{"a..b:80", "not an IP address or a host name"},
		{strings.Repeat("a", 254) + ":80", "longer than 253"},
		{"fd:", "needs a descriptor number"},
		{"fd:x", "needs a descriptor number"},
		{"fd:-1", "needs a descriptor number"},
		{"fd:99999999999", "too large"},
		{"fd:2147483648", "too large"},
		{"systemd:", "needs a socket name"},
		{"launchd:", "needs a socket name"},
		{"activation:", "needs a socket name"},
		{"systemd:a:b", "without ':'"},
		{"systemd:a\tb", "printable ASCII"},
		{"activation:" + strings.Repeat("n", 256), "longer than 255"},
		{"http://localhost:80", "unknown scheme"},
		{"udp:host/x", "unknown scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParseAddr(tt.in)
			if err == nil {
				t.Fatalf("ParseAddr(%q) = %+v, want an error", tt.in, a)
			}
			if a != (Addr{}) {
				t.Errorf("ParseAddr(%q) returned %+v with its error, want the zero Addr", tt.in, a)
			}
			if !errors.Is(err, ErrBadAddr) {
				t.Errorf("error %v does not match ErrBadAddr", err)
			}
			var ae *AddrError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *AddrError", err)
			}
			if ae.Addr != tt.in {
				t.Errorf("AddrError.Addr = %q, want %q", ae.Addr, tt.in)
			}
			if !strings.Contains(ae.Reason, tt.want) {
				t.Errorf("reason %q does not say %q", ae.Reason, tt.want)
			}
			allowed := "allowed forms are"
			if errors.Is(err, ErrPathTooLong) {
				allowed = "so at most " + strconv.Itoa(sunPathLimit-1)
			}
			if !strings.Contains(err.Error(), allowed) {
				t.Errorf("error %q does not say what is allowed (%q)", err, allowed)
			}
		})
	}
}

func TestParseAddrPathTooLong(t *testing.T) {
	for _, in := range []string{
		"/" + strings.Repeat("p", sunPathLimit-1),     // exactly sun_path bytes: no room for the NUL
		"unix:" + strings.Repeat("p", sunPathLimit+5), // longer
		"@" + strings.Repeat("a", sunPathLimit-1),
	} {
		_, err := ParseAddr(in)
		var pe *PathTooLongError
		if !errors.As(err, &pe) {
			t.Fatalf("ParseAddr(%d bytes) = %v, want a *PathTooLongError", len(in), err)
		}
		if !errors.Is(err, ErrPathTooLong) || !errors.Is(err, ErrBadAddr) {
			t.Errorf("error %v should match ErrPathTooLong and ErrBadAddr", err)
		}
		if pe.Limit != sunPathLimit || pe.Len != len(pe.Path) || pe.Len < pe.Limit {
			t.Errorf("PathTooLongError = {Len %d, Limit %d}, want Limit %d and Len %d", pe.Len, pe.Limit, sunPathLimit, len(pe.Path))
		}
		if !strings.Contains(err.Error(), "holds "+strconv.Itoa(sunPathLimit)+" bytes") {
			t.Errorf("error %q does not name the limit", err)
		}
	}
	// One byte shorter fits.
	for _, in := range []string{"/" + strings.Repeat("p", sunPathLimit-2), "@" + strings.Repeat("a", sunPathLimit-2)} {
		if _, err := ParseAddr(in); err != nil {
			t.Errorf("ParseAddr(%d bytes): %v, want it accepted", len(in), err)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Unix: "unix", Abstract: "abstract", TCP: "tcp", FD: "fd", Activated: "activated", 0: "Kind(0)", 42: "Kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
	if s := (Addr{}).String(); s != "" {
		t.Errorf("zero Addr String() = %q, want empty", s)
	}
	for in, want := range map[string]string{"/a/b": "unix", "@x": "unix", "1": "tcp", "fd:3": "", "systemd:x": ""} {
		if got := MustParse(t, in).Network(); got != want {
			t.Errorf("Network(%q) = %q, want %q", in, got, want)
		}
	}
}

// MustParse parses a valid address in a test.
func MustParse(t testing.TB, s string) Addr {
	t.Helper()
	a, err := ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
