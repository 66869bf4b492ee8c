package fault

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
)

func init() {
	// streamServer handles "stream" messages by printing "msg FROM SEQ DATA"
	// before returning, so a printed line means "processed" and comes before
	// the acknowledgement.
	children["streamServer"] = func(addr string) error {
		srv, err := ipc.NewServer(ipc.ServerConfig{})
		if err != nil {
			return err
		}
		srv.Handle("stream", func(m *ipc.Message) {
			say("msg %s %d %s", m.From, m.Seq, m.Data)
		})
		if err := srv.Listen(context.Background(), addr); err != nil {
			return err
		}
		say("ready")
		select {}
	}
}

// TestServerProcessKilledDuringStream kills the server process with SIGKILL
// three times during a stream from one queueing client and starts a new one
// on the same path each time. Sessions live in the killed process, so the
// guarantee across a crash is at-least-once: every message is processed by
// some server process, messages processed but not yet acknowledged when
// the process died are processed again by the next one, and every copy
// carries the same (From, Seq), by which a receiver de-duplicates. Within one
// server process nothing is processed twice and the order holds.
func TestServerProcessKilledDuringStream(t *testing.T) {
	const n, kills = 4000, 3
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	ctx := testCtx(t)
	srv := startChild(t, "streamServer", addr)
	srv.expect("ready")
	c, err := ipc.Dial(ctx, addr, ipc.WithQueue(0, 0),
		ipc.WithRetryDelay(5*time.Millisecond, 20*time.Millisecond),
		ipc.WithReconnectDelay(0, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var gens [][]string // the lines of each server process
	for i := range n {
		if i > 0 && i%(n/(kills+1)) == 0 {
			// Kill once this process has handled something.
			srv.expect("msg ")
			srv.kill()
			gens = append(gens, srv.output())
			srv = startChild(t, "streamServer", addr)
			srv.expect("ready")
		}
		if err := c.Send(ctx, "stream", i); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// Everything is acknowledged: stop the last process and read what it
	// printed before dying.
	srv.kill()
	gens = append(gens, srv.output())

	seen := make(map[int]int) // payload -> copies
	dups := 0
	for g, lines := range gens {
		var last uint64
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 4 || f[0] != "msg" {
				continue
			}
			if f[1] != c.ID() {
				t.Fatalf("process %d: From %s, want the client's id %s kept across restarts", g, f[1], c.ID())
			}
			seq, err1 := strconv.ParseUint(f[2], 10, 64)
			v, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil {
				t.Fatalf("process %d: bad line %q", g, l)
			}
			if seq != uint64(v)+1 {
				t.Fatalf("process %d: Seq %d carries message %d: (From, Seq) is not a stable identity", g, seq, v)
			}
			if seq <= last {
				t.Fatalf("process %d: Seq %d after %d: processed twice or out of order within one process", g, seq, last)
			}
			last = seq
			if seen[v]++; seen[v] > 1 {
				dups++
			}
		}
	}
	for i := range n {
		if seen[i] == 0 {
			t.Fatalf("message %d lost across %d SIGKILLs (%d of %d seen)", i, kills, len(seen), n)
		}
	}
	t.Logf("%d messages, %d server processes killed: 0 lost, %d processed again by the next process (same From and Seq)", n, kills, dups)
}
