package fault

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/wire"
)

// trickle writes b one byte per interval until a write fails or the peer
// closes (seen by a reader goroutine), and returns how long the connection
// lived.
func trickle(t *testing.T, c io.ReadWriteCloser, b []byte, interval time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		if _, err := c.Write(b[i%len(b) : i%len(b)+1]); err != nil {
			break
		}
		select {
		case <-closed:
			return time.Since(start)
		case <-tick.C:
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("trickling peer still connected after 20s")
		}
	}
	<-closed
	return time.Since(start)
}

// TestOneBytePerSecond connects peers that send one byte per second. On a
// NativeOnly server the handshake timeout closes a trickling handshake
// however steadily it trickles, and after the handshake a silence longer
// than the idle timeout closes the connection. On a server that also takes
// socket-ipc clients, a preface slower than DetectTimeout is still a native
// preface (no socket-ipc message starts with NUL): the handshake timeout
// closes it too.
func TestOneBytePerSecond(t *testing.T) {
	const handshake, idle = 1500 * time.Millisecond, 500 * time.Millisecond
	ctx := testCtx(t)
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	handshakeBytes := wire.AppendFrame(append([]byte(nil), wire.Preface[:]...), &wire.Frame{Type: wire.TypeHello, Payload: hello})
	listen := func(cfg ipc.ServerConfig) (*ipc.Server, string) {
		addr := filepath.Join(testenv.ShortDir(t), "s.sock")
		srv, err := ipc.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Listen(ctx, addr); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv, addr
	}
	timeouts := make(chan error, 4)
	native, nativeAddr := listen(ipc.ServerConfig{NativeOnly: true, HandshakeTimeout: handshake, IdleTimeout: idle,
		OnError: func(err error) {
			if errors.Is(err, ipc.ErrHandshakeTimeout) {
				timeouts <- err
			}
		}})
	both, bothAddr := listen(ipc.ServerConfig{HandshakeTimeout: handshake, IdleTimeout: idle})

	t.Run("handshake", func(t *testing.T) {
		c, err := endpoint.Dial(ctx, nativeAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		lived := trickle(t, c, handshakeBytes, time.Second)
		// Detection may take up to one handshake timeout, the handshake
		// proper another.
		if lived < handshake-100*time.Millisecond || lived > 2*handshake+time.Second {
			t.Errorf("trickling handshake lived %v, want within one or two handshake timeouts (%v)", lived, handshake)
		}
		select {
		case err := <-timeouts:
			if !errors.Is(err, ipc.ErrDecode) {
				t.Errorf("reported %v, want a DecodeError", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("no ErrHandshakeTimeout reported")
		}
	})
	t.Run("idle", func(t *testing.T) {
		p, err := dialNative(ctx, nativeAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		lived := trickle(t, p, halfFrame(100), time.Second)
		if lived < idle-100*time.Millisecond || lived > time.Second+idle {
			t.Errorf("trickling peer lived %v after its handshake, want about the idle timeout %v", lived, idle)
		}
	})
	t.Run("slow preface on both wires", func(t *testing.T) {
		c, err := endpoint.Dial(ctx, bothAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		lived := trickle(t, c, handshakeBytes, time.Second)
		if lived < handshake-100*time.Millisecond || lived > handshake+time.Second {
			t.Errorf("trickling preface lived %v, want about the handshake timeout %v", lived, handshake)
		}
	})
	eventually(t, 5*time.Second, "no clients left", func() bool { return len(native.Clients())+len(both.Clients()) == 0 })
}
