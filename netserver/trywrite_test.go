//go:build unix

package netserver

import (
	"context"
	"io"
	"testing"
)

// TryWrite and TryWriteBuffers write without waiting and count what they
// wrote, like Write.
func TestTryWriteCounts(t *testing.T) {
	wrote := make(chan uint64, 1)
	s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) {
		defer c.Close()
		n, err := c.TryWrite([]byte("hello"))
		if err != nil || n != 5 {
			t.Errorf("TryWrite = %d, %v; want 5, nil", n, err)
		}
		n, err = c.TryWriteBuffers([][]byte{[]byte(", "), []byte("world")})
		if err != nil || n != 7 {
			t.Errorf("TryWriteBuffers = %d, %v; want 7, nil", n, err)
		}
		wrote <- c.BytesWritten()
	})}
	l := listenUnix(t)
	serve(t, s, l)
	c := dial(t, l.Addr())
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello, world" {
		t.Fatalf("read %q, %v", got, err)
	}
	if n := recv(t, wrote); n != 12 {
		t.Errorf("BytesWritten = %d, want 12", n)
	}
	if st := s.Stats(); st.BytesWritten != 12 {
		t.Errorf("Stats().BytesWritten = %d, want 12", st.BytesWritten)
	}
}
