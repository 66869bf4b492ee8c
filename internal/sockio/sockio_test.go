//go:build unix

package sockio_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/switchboard-ipc/switchboard/internal/sockio"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// TryWrite takes what the socket holds and returns: on a full socket it
// writes nothing and does not wait; what it wrote arrives whole and in order.
func TestTryWriteNeverWaits(t *testing.T) {
	a, b := testenv.UnixPair(t)
	a.SetWriteBuffer(4096)
	data := bytes.Repeat([]byte("0123456789"), 100_000) // far more than the socket holds
	n, err := sockio.TryWrite(a, data)
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n >= len(data) {
		t.Fatalf("wrote %d of %d bytes: want part of them", n, len(data))
	}
	if m, err := sockio.TryWrite(a, data[n:]); err != nil || m != 0 {
		t.Fatalf("on a full socket: wrote %d, %v; want 0, nil", m, err)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[:n]) {
		t.Fatal("the bytes read differ from those written")
	}
}

// A closed connection and a peer that left are errors.
func TestTryWriteErrors(t *testing.T) {
	a, b := testenv.UnixPair(t)
	b.Close()
	var err error
	for range 100 { // the first write after the peer left may still succeed
		if _, err = sockio.TryWrite(a, []byte("x")); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("writing to a peer that left: %v, want EPIPE", err)
	}
	a.Close()
	if _, err := sockio.TryWrite(a, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("writing to a closed connection: %v, want net.ErrClosed", err)
	}
}

// TryWriteBuffers writes the concatenation of its buffers without waiting:
// on a socket that holds less than all of them it writes a prefix that may
// end inside any buffer, and the peer reads exactly that prefix, in order.
func TestTryWriteBuffersNeverWaits(t *testing.T) {
	a, b := testenv.UnixPair(t)
	a.SetWriteBuffer(4096)
	bufs := [][]byte{
		bytes.Repeat([]byte("a"), 1000),
		bytes.Repeat([]byte("b"), 50_000),
		bytes.Repeat([]byte("0123456789"), 100_000), // far more than the socket holds
	}
	all := bytes.Join(bufs, nil)
	n, err := sockio.TryWriteBuffers(a, bufs)
	if err != nil {
		t.Fatal(err)
	}
	if n <= len(bufs[0]) || n >= len(all) {
		t.Fatalf("wrote %d of %d bytes: want more than the first buffer and less than all", n, len(all))
	}
	if m, err := sockio.TryWriteBuffers(a, [][]byte{all[n:]}); err != nil || m != 0 {
		t.Fatalf("on a full socket: wrote %d, %v; want 0, nil", m, err)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all[:n]) {
		t.Fatal("the bytes read differ from those written")
	}
	a.Close()
	if _, err := sockio.TryWriteBuffers(a, bufs); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("writing to a closed connection: %v, want net.ErrClosed", err)
	}
}
