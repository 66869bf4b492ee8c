package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
)

// emfileLog is a slog.Handler that prints "emfile" for every record whose
// "err" is EMFILE: the server's report of an accept that failed for want of
// descriptors.
type emfileLog struct{}

func (emfileLog) Enabled(context.Context, slog.Level) bool { return true }
func (emfileLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && errors.Is(err, syscall.EMFILE) {
			say("emfile")
		}
		return true
	})
	return nil
}
func (h emfileLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h emfileLog) WithGroup(string) slog.Handler      { return h }

func init() {
	// emfileServer runs an ipc server answering "ping" under a low
	// RLIMIT_NOFILE. On "exhaust" it opens descriptors until EMFILE; on
	// "free" it closes them.
	children["emfileServer"] = func(addr string) error {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		lim.Cur = 128
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
		srv, err := ipc.NewServer(ipc.ServerConfig{Logger: slog.New(emfileLog{})})
		if err != nil {
			return err
		}
		srv.Handle("ping", func(m *ipc.Message) { m.Respond("pong") })
		if err := srv.Listen(context.Background(), addr); err != nil {
			return err
		}
		say("ready")
		var hoard []*os.File
		for cmd := range commands {
			switch cmd {
			case "exhaust":
				for {
					f, err := os.Open(os.DevNull)
					if errors.Is(err, syscall.EMFILE) {
						break
					}
					if err != nil {
						return err
					}
					hoard = append(hoard, f)
				}
				say("exhausted %d", len(hoard))
			case "free":
				for _, f := range hoard {
					f.Close()
				}
				hoard = nil
				say("freed")
			}
		}
		return nil
	}
}

func ping(ctx context.Context, c *ipc.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := c.Request(ctx, "ping", nil)
	if err != nil {
		return err
	}
	var s string
	if err := m.Decode(&s); err != nil || s != "pong" {
		return fmt.Errorf("reply %q, %v", s, err)
	}
	return nil
}

// TestOutOfDescriptors runs a server in a child process with RLIMIT_NOFILE
// 128, makes the process use up its descriptors, and connects: accept fails
// with EMFILE, the server backs off and retries, its existing clients are
// served meanwhile, and once descriptors are free again the waiting client
// is accepted and served.
func TestOutOfDescriptors(t *testing.T) {
	ctx := testCtx(t)
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	k := startChild(t, "emfileServer", addr)
	k.expect("ready")
	old, err := ipc.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := ping(ctx, old); err != nil {
		t.Fatal(err)
	}

	k.send("exhaust")
	k.expect("exhausted ")
	type dialed struct {
		c   *ipc.Client
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		c, err := ipc.Dial(ctx, addr, ipc.WithRetryDelay(10*time.Millisecond, 10*time.Millisecond))
		done <- dialed{c, err}
	}()
	k.expect("emfile") // the server saw accept fail
	if err := ping(ctx, old); err != nil {
		t.Fatalf("existing client while the server is out of descriptors: %v", err)
	}
	select {
	case d := <-done:
		t.Fatalf("a client was served while the server had no descriptor to accept it: %v", d.err)
	default:
	}

	k.send("free")
	k.expect("freed")
	var d dialed
	select {
	case d = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting client was not accepted within 10s of descriptors being freed")
	}
	if d.err != nil {
		t.Fatalf("Dial after recovery: %v", d.err)
	}
	defer d.c.Close()
	if err := ping(ctx, d.c); err != nil {
		t.Fatalf("new client after recovery: %v", err)
	}
	if err := ping(ctx, old); err != nil {
		t.Fatalf("old client after recovery: %v", err)
	}
}
