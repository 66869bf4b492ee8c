//go:build unix

package endpoint

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

func BenchmarkParseAddr(b *testing.B) {
	for _, s := range []string{"/run/user/1000/switchboard.sock", "tcp:127.0.0.1:3000", "[::1]:3000", "systemd:app"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseAddr(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListenClose measures a whole Unix socket lifetime: lock, bind,
// chmod, listen, then Close with its lock, inode check and unlink.
func BenchmarkListenClose(b *testing.B) {
	path := filepath.Join(testenv.ShortDir(b), "b.sock")
	ctx := context.Background()
	for b.Loop() {
		l, err := Listen(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}

// BenchmarkListenOverStale is Listen when a stale socket file is in the way:
// the probe is refused and the file replaced.
func BenchmarkListenOverStale(b *testing.B) {
	path := filepath.Join(testenv.ShortDir(b), "b.sock")
	ctx := context.Background()
	for b.Loop() {
		l, err := Listen(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		l.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
		l.Close()
	}
}

// BenchmarkListenInUse is the refusal of a second server: lock, bind, probe.
func BenchmarkListenInUse(b *testing.B) {
	path := filepath.Join(testenv.ShortDir(b), "b.sock")
	ctx := context.Background()
	l, err := Listen(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go servePID(l)
	for b.Loop() {
		if _, err := Listen(ctx, path); err == nil {
			b.Fatal("second Listen succeeded")
		}
	}
}

// BenchmarkDialUnix is a connection round trip: dial, accept, one write.
func BenchmarkDialUnix(b *testing.B) {
	path := filepath.Join(testenv.ShortDir(b), "b.sock")
	ctx := context.Background()
	l, err := Listen(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go servePID(l)
	for b.Loop() {
		c, err := Dial(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 16)); err != nil { // wait for the server's answer
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkPeerOf(b *testing.B) {
	path := filepath.Join(testenv.ShortDir(b), "b.sock")
	ctx := context.Background()
	l, err := Listen(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, err := PeerOf(s); err != nil {
			b.Fatal(err)
		}
	}
}
