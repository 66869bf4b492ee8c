package soak

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/ipc"
)

// holder connects n ipc clients to addr, each subscribed to "hold.all",
// prints "ready N", then obeys commands: "count WANT" waits (up to a minute)
// until its clients together received WANT messages and prints "count GOT";
// "close" closes every client and prints "closed".
func holder(addr string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got atomic.Int64
	clients := make([]*ipc.Client, n)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				c, err := ipc.Dial(ctx, addr,
					ipc.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond),
					ipc.WithReconnectDelay(10*time.Millisecond, 100*time.Millisecond))
				if err == nil {
					_, err = c.Subscribe(ctx, "hold.all", func(*ipc.Message) { got.Add(1) })
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	say("ready %d", n)
	for cmd := range commands {
		f := strings.Fields(cmd)
		switch {
		case len(f) == 2 && f[0] == "count":
			want, _ := strconv.ParseInt(f[1], 10, 64)
			deadline := time.Now().Add(time.Minute)
			for got.Load() < want && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			say("count %d", got.Load())
		case len(f) == 1 && f[0] == "close":
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Go(func() { c.Close() })
			}
			wg.Wait()
			say("closed")
		}
	}
	return nil
}
