package endpoint

import (
	"errors"
	"testing"
)

// FuzzParseAddr checks that ParseAddr never panics, that its errors are
// *AddrErrors matching ErrBadAddr, and that every Addr it returns survives a
// round trip through its canonical string.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{
		"/run/app.sock", "./app.sock", "unix:/run/app.sock", "unix:app.sock", "@app",
		"tcp:127.0.0.1:3000", "127.0.0.1:3000", ":3000", "3000", "[::1]:3000",
		"[fe80::1%eth0]:80", "localhost:80", "tcp:fd:3", "fd:3", "systemd:app",
		"launchd:app", "activation:app", "", "@", "fd:", "::1:80", "http://x/y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			var ae *AddrError
			if !errors.Is(err, ErrBadAddr) || !errors.As(err, &ae) {
				t.Fatalf("ParseAddr(%q) error %v is not an *AddrError matching ErrBadAddr", s, err)
			}
			if a != (Addr{}) {
				t.Fatalf("ParseAddr(%q) returned %+v with an error", s, a)
			}
			return
		}
		canon := a.String()
		b, err := ParseAddr(canon)
		if err != nil {
			t.Fatalf("ParseAddr(%q) = %+v, but its String %q does not parse: %v", s, a, canon, err)
		}
		if b != a {
			t.Fatalf("ParseAddr(%q) = %+v; ParseAddr(%q) = %+v", s, a, canon, b)
		}
		if b.String() != canon {
			t.Fatalf("String not stable: %q then %q", canon, b.String())
		}
	})
}
