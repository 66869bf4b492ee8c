package channel

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// TestHandoverRace: when a host leaves gracefully, the member that takes
// over binds a new socket while the old host is closing; the old host's
// Close must not remove the new socket, and a later member must find the
// new host. (The old host closes its listener before its connections, so no
// member re-elects while the old socket file is still there.)
func TestHandoverRace(t *testing.T) {
	for i := range 50 {
		dir := testenv.ShortDir(t)
		a, _ := Open("hall", WithDir(dir))
		connect(t, a)
		hosted := make(chan struct{}, 4)
		b, _ := Open("hall", WithDir(dir), OnHost(func() { hosted <- struct{}{} }))
		connect(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		a.Shutdown(ctx)
		cancel()
		select {
		case <-hosted:
		case <-time.After(5 * time.Second):
			t.Fatal("b never hosted")
		}
		_, serr := os.Lstat(b.Path())
		cc, derr := dialHost(context.Background(), b.Path())
		if derr == nil {
			cc.Close()
		}
		if serr != nil || derr != nil {
			t.Fatalf("iteration %d: after takeover: stat %v, dial %v", i, serr, derr)
		}
		c, _ := Open("hall", WithDir(dir))
		connect(t, c)
		if c.Hosting() {
			t.Fatalf("iteration %d: c hosts; b hosting %v state %v", i, b.Hosting(), b.State())
		}
		c.Close()
		b.Close()
	}
}
