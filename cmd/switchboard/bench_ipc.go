package main

// The switchboard side of "switchboard bench": worker roles built on ipc,
// with the payloads and process layouts of the raw baseline (internal/bench).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
	"github.com/switchboard-ipc/switchboard/internal/bench"
	"github.com/switchboard-ipc/switchboard/ipc"
)

func init() {
	bench.Register("sb-server", sbServerRole)
	bench.Register("sb-hub", sbServerRole)
	bench.Register("sb-client", sbClientRole)
}

// sendsPerClockCheck is how many messages a sender sends between looks at
// the clock.
const sendsPerClockCheck = 256

// sbWire is the wire and codec of a worker: native frames carry the payload
// as raw bytes; socket-ipc carries it as a JSON string, as a Node peer would.
func sbWire(p bench.Params) (ipc.Wire, codec.Codec, any) {
	if p.Wire == "socket-ipc" {
		return ipc.SocketIPC, codec.JSON, string(bench.Payload(p.Size))
	}
	return ipc.Native, codec.Raw, bench.Payload(p.Size)
}

// connWaiter lets a server role wait until n clients are connected.
type connWaiter struct {
	n    atomic.Int64
	more chan struct{}
}

func newConnWaiter() *connWaiter { return &connWaiter{more: make(chan struct{}, 1)} }

func (cw *connWaiter) connected(ipc.ClientInfo) {
	cw.n.Add(1)
	select {
	case cw.more <- struct{}{}:
	default:
	}
}

func (cw *connWaiter) wait(ctx context.Context, n int) error {
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for cw.n.Load() < int64(n) {
		select {
		case <-cw.more:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("only %d of %d clients connected", cw.n.Load(), n)
		}
	}
	return nil
}

// sbServerRole runs an ipc.Server: a sink, a source (send or broadcast), a
// responder, an idle server, or (sb-hub) a hub.
func sbServerRole(ctx context.Context, w *bench.Worker, p bench.Params) error {
	_, cdc, msg := sbWire(p)
	cw := newConnWaiter()
	var asyncErr atomic.Value
	srv, err := ipc.NewServer(ipc.ServerConfig{
		Codec: cdc,
		Hub:   p.Role == "sb-hub",
		// A benchmark measures how fast messages go, not what happens when
		// a reader falls behind: senders wait for room.
		SlowConsumer:     ipc.Block,
		HandshakeTimeout: time.Minute,
		// subs-N holds up to N patterns on one connection: the routing
		// cost is measured, not the default limit.
		MaxSubscriptions: -1,
		OnConnect:        cw.connected,
		OnError:          func(err error) { asyncErr.CompareAndSwap(nil, err) },
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	var m *bench.Meter
	switch p.Mode {
	case "sink":
		// Handlers run on each connection's reading goroutine: one shared
		// counter would make a thousand of them contend on one cache line
		// (30 % of the server's time in a profile), a cost of the harness.
		// Counters striped by the sender's id keep them apart.
		m = bench.NewMeter()
		var stripes [256]*bench.Counter
		for i := range stripes {
			stripes[i] = m.NewCounter()
		}
		srv.Handle(p.Topic, func(msg *ipc.Message) { stripes[stripe(msg.From)].AddShared(1) })
	case "echo":
		srv.Handle(p.Topic, func(m *ipc.Message) { m.Respond(m.Data) })
	case "source", "idle", "hub":
	default:
		return fmt.Errorf("%s: unknown mode %q", p.Role, p.Mode)
	}
	if err := srv.Listen(ctx, p.Addr); err != nil {
		return err
	}
	switch p.Mode {
	case "idle":
		return bench.ServeRSS(ctx, w, p, cw.wait)
	case "source":
		w.Ready(p.Addr)
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		if err := cw.wait(ctx, p.Conns); err != nil {
			return err
		}
		var send func() error
		if p.Conns == 1 {
			id := srv.Clients()[0].ID
			send = func() error { return srv.Send(id, p.Topic, msg) }
		} else {
			send = func() error { return srv.Broadcast(p.Topic, msg) }
		}
		sent, err := sendFor(ctx, p.Duration, sendsPerClockCheck, send)
		w.Report(bench.Report{Sent: sent})
		return err
	}
	w.Ready(p.Addr)
	if m != nil {
		m.Start()
	}
	<-ctx.Done()
	if m != nil {
		w.Report(m.Stop())
	} else {
		w.Report(bench.Report{})
	}
	if err, ok := asyncErr.Load().(error); ok && !errors.Is(err, ipc.ErrServerClosed) {
		return fmt.Errorf("server reported: %w", err)
	}
	return nil
}

// stripe maps a client id (a UUID: hex digits) to one of 256 counters.
func stripe(id string) byte {
	if len(id) < 2 {
		return 0
	}
	return id[0]<<4 ^ id[1]
}

// sendFor calls send until d has passed and returns how often it did. It
// looks at the clock every `every` sends: often enough, when thousands of
// senders share the CPU, that none overruns the duration by much.
func sendFor(ctx context.Context, d time.Duration, every int, send func() error) (int64, error) {
	var sent int64
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for range every {
			if err := send(); err != nil {
				return sent, err
			}
		}
		sent += int64(every)
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
	return sent, nil
}

// dialConcurrency bounds the dials in flight when a worker connects many
// clients.
const dialConcurrency = 32

// dialClients connects n clients to p.Addr, a few at a time.
func dialClients(ctx context.Context, p bench.Params, n int, extra ...ipc.Option) ([]*ipc.Client, error) {
	wire, cdc, _ := sbWire(p)
	opts := append([]ipc.Option{ipc.WithWire(wire), ipc.WithCodec(cdc),
		ipc.WithRetryDelay(10*time.Millisecond, 50*time.Millisecond)}, extra...)
	clients := make([]*ipc.Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			c, err := ipc.Dial(dctx, p.Addr, opts...)
			if err != nil {
				errs[i] = fmt.Errorf("client %d of %d: %w", i+1, n, err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil { // the first says enough; the others likely say the same
			closeClients(clients)
			return nil, err
		}
	}
	return clients, nil
}

func closeClients(cs []*ipc.Client) {
	var wg sync.WaitGroup
	for _, c := range cs {
		if c != nil {
			wg.Go(func() { c.Close() })
		}
	}
	wg.Wait()
}

// sbClientRole runs ipc.Clients: senders, receivers, subscribers,
// publishers, requesters, responders or idle connections.
func sbClientRole(ctx context.Context, w *bench.Worker, p bench.Params) error {
	_, _, msg := sbWire(p)
	switch p.Mode {
	case "sink", "sub":
		m := bench.NewMeter()
		clients, err := dialClients(ctx, p, p.Conns)
		if err != nil {
			return err
		}
		defer closeClients(clients)
		for _, c := range clients {
			ctr := m.NewCounter()
			count := func(*ipc.Message) { ctr.Add(1) }
			if p.Mode == "sink" {
				err = c.Handle(p.Topic, count)
			} else {
				err = subscribe(ctx, c, p, count)
			}
			if err != nil {
				return err
			}
		}
		w.Ready("")
		m.Start()
		<-ctx.Done()
		w.Report(m.Stop())
		return nil
	case "reply":
		clients, err := dialClients(ctx, p, 1)
		if err != nil {
			return err
		}
		defer closeClients(clients)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = clients[0].Subscribe(sctx, p.Topic, func(m *ipc.Message) { m.Respond(m.Data) })
		cancel()
		if err != nil {
			return err
		}
		w.Ready("")
		<-ctx.Done()
		w.Report(bench.Report{})
		return nil
	case "ping", "request":
		clients, err := dialClients(ctx, p, 1)
		if err != nil {
			return err
		}
		defer closeClients(clients)
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		c := clients[0]
		var lat bench.Latencies
		deadline := time.Now().Add(p.Duration)
		for {
			start := time.Now()
			if !start.Before(deadline) {
				break
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := c.Request(rctx, p.Topic, msg)
			cancel()
			if err != nil {
				return err
			}
			lat.Add(time.Since(start))
		}
		w.Report(lat.Report())
		return nil
	case "source", "pub":
		clients, err := dialClients(ctx, p, p.Conns)
		if err != nil {
			return err
		}
		defer closeClients(clients)
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		sent := make([]int64, len(clients))
		errs := make([]error, len(clients))
		every := max(sendsPerClockCheck/len(clients), 32) // time.Now per send would cost as much as the send
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				sent[i], errs[i] = sendFor(ctx, p.Duration, every, func() error { return c.Send(ctx, p.Topic, msg) })
			})
		}
		wg.Wait()
		var total int64
		for _, s := range sent {
			total += s
		}
		w.Report(bench.Report{Sent: total})
		return errors.Join(errs...)
	case "idle":
		clients, err := dialClients(ctx, p, p.Conns)
		if err != nil {
			return err
		}
		defer closeClients(clients)
		w.Ready("")
		<-ctx.Done()
		w.Report(bench.Report{})
		return nil
	}
	return fmt.Errorf("sb-client: unknown mode %q", p.Mode)
}

// subscribe subscribes c to p.Topic with h, after p.Subs other patterns that
// never match (to measure routing against many subscriptions). The last,
// confirmed subscription tells that the server has them all.
func subscribe(ctx context.Context, c *ipc.Client, p bench.Params, h ipc.HandlerFunc) error {
	for i := range p.Subs {
		if err := c.Handle(fmt.Sprintf("other.%d.*", i), h); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := c.Subscribe(sctx, p.Topic, h)
	return err
}
