package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// The raw baseline: what a Go program gets from a Unix stream socket with
// nothing but a 4-byte big-endian length before each payload, buffered
// reads and writes, no goroutine hand-off per message. Every switchboard
// figure is set against it.

// rawBuf is the buffer size of raw readers and writers.
const rawBuf = 64 << 10

// checkEvery is how many messages a sender writes between looks at the clock.
const checkEvery = 256

func init() {
	Register("raw-server", rawServer)
	Register("raw-client", rawClient)
	Register("raw-relay", rawRelay)
}

// rawFrame returns one frame: length prefix and a payload of size bytes.
func rawFrame(size int) []byte {
	f := make([]byte, 4+size)
	binary.BigEndian.PutUint32(f, uint32(size))
	for i := 4; i < len(f); i++ {
		f[i] = byte('a' + i%26)
	}
	return f
}

// readFrame reads one frame from r and returns its payload, which is valid
// until the next call. Frames that fit the buffer are not copied.
func readFrame(r *bufio.Reader, scratch *[]byte) ([]byte, error) {
	hdr, err := r.Peek(4)
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr))
	r.Discard(4)
	if n <= r.Size() {
		p, err := r.Peek(n)
		if err != nil {
			return nil, noEOF(err)
		}
		r.Discard(n)
		return p, nil
	}
	if cap(*scratch) < n {
		*scratch = make([]byte, n)
	}
	p := (*scratch)[:n]
	_, err = io.ReadFull(r, p)
	return p, noEOF(err)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// isClosed reports whether err only says the connection ended.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || isReset(err)
}

// sinkConn counts frames from c until it ends.
func sinkConn(c net.Conn, ctr *Counter) error {
	r := bufio.NewReaderSize(c, rawBuf)
	var scratch []byte
	for {
		if _, err := readFrame(r, &scratch); err != nil {
			if isClosed(err) {
				return nil
			}
			return err
		}
		ctr.Add(1)
	}
}

// sourceConns writes frames of size bytes to every conn in turn until d has
// passed, and returns how many messages it wrote to each.
func sourceConns(conns []net.Conn, size int, d time.Duration) (int64, error) {
	frame := rawFrame(size)
	ws := make([]*bufio.Writer, len(conns))
	for i, c := range conns {
		ws[i] = bufio.NewWriterSize(c, rawBuf)
	}
	var sent int64
	deadline := time.Now().Add(d)
	for {
		for range checkEvery {
			for _, w := range ws {
				if _, err := w.Write(frame); err != nil {
					return sent, err
				}
			}
			sent++
		}
		if !time.Now().Before(deadline) {
			break
		}
	}
	for _, w := range ws {
		if err := w.Flush(); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// echoConn answers every frame on c with the same frame.
func echoConn(c net.Conn) error { return relayConn(c, c) }

// relayConn writes every frame read from src to dst, flushing whenever src
// has nothing more buffered, until src ends.
func relayConn(src, dst net.Conn) error {
	r := bufio.NewReaderSize(src, rawBuf)
	w := bufio.NewWriterSize(dst, rawBuf)
	var scratch []byte
	var hdr [4]byte
	for {
		p, err := readFrame(r, &scratch)
		if err != nil {
			if isClosed(err) {
				return nil
			}
			return err
		}
		binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
		w.Write(hdr[:])
		w.Write(p)
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return nil
			}
		}
	}
}

// rawRelay is the raw counterpart of a hub: the first connection it
// accepts is the far end (a subscriber, a replier), the second the near
// end (a publisher, a requester), and it copies frames between them both
// ways, a goroutine per direction. It is the least any process between two
// others does, the floor of two hops.
func rawRelay(ctx context.Context, w *Worker, p Params) error {
	if p.Mode != "hub" {
		return fmt.Errorf("raw-relay: unknown mode %q", p.Mode)
	}
	ln, err := net.Listen("unix", p.Addr)
	if err != nil {
		return err
	}
	a := &acceptor{ln: ln, more: make(chan struct{}, 1)}
	defer a.closeAll()
	go a.loop(nil)
	w.Ready(p.Addr)
	conns, err := a.wait(ctx, 2)
	if err != nil {
		return err
	}
	far, near := conns[0], conns[1]
	go relayConn(near, far)
	go relayConn(far, near)
	<-ctx.Done()
	w.Report(Report{})
	return nil
}

// pingConn sends one frame at a time and waits for its echo until d has
// passed, recording each round trip.
func pingConn(c net.Conn, size int, d time.Duration) (Report, error) {
	frame := rawFrame(size)
	r := bufio.NewReaderSize(c, rawBuf)
	var scratch []byte
	var lat Latencies
	deadline := time.Now().Add(d)
	for {
		start := time.Now()
		if !start.Before(deadline) {
			break
		}
		if _, err := c.Write(frame); err != nil {
			return Report{}, err
		}
		if _, err := readFrame(r, &scratch); err != nil {
			return Report{}, err
		}
		lat.Add(time.Since(start))
	}
	return lat.Report(), nil
}

// acceptor tracks the connections a raw server accepted.
type acceptor struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	more  chan struct{} // signalled on every accept
}

func (a *acceptor) loop(each func(net.Conn)) {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.conns = append(a.conns, c)
		a.mu.Unlock()
		select {
		case a.more <- struct{}{}:
		default:
		}
		if each != nil {
			go each(c)
		}
	}
}

// wait returns once n connections were accepted, or fails after a while.
func (a *acceptor) wait(ctx context.Context, n int) ([]net.Conn, error) {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		a.mu.Lock()
		got := len(a.conns)
		cs := append([]net.Conn(nil), a.conns...)
		a.mu.Unlock()
		if got >= n {
			return cs, nil
		}
		select {
		case <-a.more:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout.C:
			return nil, fmt.Errorf("only %d of %d connections arrived", got, n)
		}
	}
}

func (a *acceptor) closeAll() {
	a.ln.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		c.Close()
	}
}

func rawServer(ctx context.Context, w *Worker, p Params) error {
	ln, err := net.Listen("unix", p.Addr)
	if err != nil {
		return err
	}
	a := &acceptor{ln: ln, more: make(chan struct{}, 1)}
	defer a.closeAll()
	switch p.Mode {
	case "sink":
		m := NewMeter()
		go a.loop(func(c net.Conn) { sinkConn(c, m.NewCounter()) })
		w.Ready(p.Addr)
		m.Start()
		<-ctx.Done()
		w.Report(m.Stop())
		return nil
	case "source":
		go a.loop(nil)
		w.Ready(p.Addr)
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		conns, err := a.wait(ctx, p.Conns)
		if err != nil {
			return err
		}
		sent, err := sourceConns(conns, p.Size, p.Duration)
		w.Report(Report{Sent: sent})
		return err
	case "echo":
		go a.loop(func(c net.Conn) { echoConn(c) })
		w.Ready(p.Addr)
		<-ctx.Done()
		w.Report(Report{})
		return nil
	case "idle":
		go a.loop(func(c net.Conn) {
			r := bufio.NewReaderSize(c, 4096)
			r.ReadByte() // blocks until the client goes
		})
		return ServeRSS(ctx, w, p, func(ctx context.Context, n int) error {
			_, err := a.wait(ctx, n)
			return err
		})
	}
	return fmt.Errorf("raw-server: unknown mode %q", p.Mode)
}

// ServeRSS is the body of a server in the memory scenario, once it listens:
// it reports readiness and its resident memory before any connection, then
// answers each "rss" request once wait says all of p.Conns connections
// arrived.
func ServeRSS(ctx context.Context, w *Worker, p Params, wait func(ctx context.Context, n int) error) error {
	w.Ready(p.Addr)
	w.SendRSS() // the "before" figure
	for {
		select {
		case <-ctx.Done():
			w.Report(Report{RSS: RSS()})
			return nil
		case <-w.RSSRequests():
			if err := wait(ctx, p.Conns); err != nil {
				return err
			}
			w.SendRSS()
		}
	}
}

// WaitGo blocks until the parent says go, or ctx ends.
func (w *Worker) WaitGo(ctx context.Context) error {
	select {
	case <-w.Go():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dialN opens n Unix connections to path. A Unix socket whose listen
// backlog is full refuses a connection at once (EAGAIN) rather than making
// it wait, as a server taking 10,000 connections in a row lets it fill:
// such a dial is tried again after a pause, up to 1 ms doubling to 100 ms,
// until ctx ends.
func dialN(ctx context.Context, path string, n int) ([]net.Conn, error) {
	var d net.Dialer
	conns := make([]net.Conn, 0, n)
	pause := time.Millisecond
	for len(conns) < n {
		c, err := d.DialContext(ctx, "unix", path)
		if errors.Is(err, syscall.EAGAIN) && ctx.Err() == nil {
			if testHookDialRetry != nil {
				testHookDialRetry()
			}
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			pause = min(2*pause, 100*time.Millisecond)
			continue
		}
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d of %d: %w", len(conns)+1, n, err)
		}
		pause = time.Millisecond
		conns = append(conns, c)
	}
	return conns, nil
}

// testHookDialRetry, when set by a test, is called before dialN tries a
// refused connection again.
var testHookDialRetry func()

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func rawClient(ctx context.Context, w *Worker, p Params) error {
	conns, err := dialN(ctx, p.Addr, p.Conns)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	switch p.Mode {
	case "sink", "sub":
		m := NewMeter()
		for _, c := range conns {
			go sinkConn(c, m.NewCounter())
		}
		w.Ready("")
		m.Start()
		<-ctx.Done()
		w.Report(m.Stop())
		return nil
	case "source", "pub":
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		// One goroutine per connection: the load of many clients at once.
		var wg sync.WaitGroup
		sent := make([]int64, len(conns))
		errs := make([]error, len(conns))
		for i, c := range conns {
			wg.Go(func() {
				sent[i], errs[i] = sourceConns([]net.Conn{c}, p.Size, p.Duration)
			})
		}
		wg.Wait()
		var total int64
		for _, s := range sent {
			total += s
		}
		w.Report(Report{Sent: total})
		return errors.Join(errs...)
	case "reply":
		go echoConn(conns[0])
		w.Ready("")
		<-ctx.Done()
		w.Report(Report{})
		return nil
	case "ping", "request":
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		rep, err := pingConn(conns[0], p.Size, p.Duration)
		if err != nil {
			return err
		}
		w.Report(rep)
		return nil
	case "idle":
		w.Ready("")
		<-ctx.Done()
		w.Report(Report{})
		return nil
	}
	return fmt.Errorf("raw-client: unknown mode %q", p.Mode)
}

// Payload returns the payload of size bytes that every transport sends: the
// same bytes for the raw baseline, switchboard and the peers.
func Payload(size int) []byte { return rawFrame(size)[4:] }
