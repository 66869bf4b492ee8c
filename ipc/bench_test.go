package ipc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
)

// Benchmarks of the messaging hot paths, each beside a raw Unix-socket
// baseline with the same payload sizes: length-prefixed frames through a
// bufio.Writer, one writer and one reader goroutine; and a raw ping-pong.
//
//	go test -run '^$' -bench . -benchtime 2s ./ipc/

var benchSizes = []int{64, 1024}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// counter signals done when it has counted target messages.
type counter struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func newCounter(target int) *counter {
	return &counter{target: int64(target), done: make(chan struct{})}
}

func (c *counter) add() {
	if c.n.Add(1) == c.target {
		close(c.done)
	}
}

func (c *counter) wait(b *testing.B) {
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		b.Fatalf("received %d of %d", c.n.Load(), c.target)
	}
}

func rawPair(b *testing.B) (net.Conn, net.Conn) {
	l, err := net.Listen("unix", shortSock(b))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		acc <- c
	}()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s := <-acc
	b.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// rawReader reads length-prefixed frames until n were read.
func rawReader(r io.Reader, n int, done chan<- struct{}) {
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [4]byte
	buf := make([]byte, 64<<10)
	for range n {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			break
		}
		if _, err := io.ReadFull(br, buf[:binary.BigEndian.Uint32(hdr[:])]); err != nil {
			break
		}
	}
	close(done)
}

func BenchmarkRawStream(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			c, s := rawPair(b)
			payload := make([]byte, size)
			done := make(chan struct{})
			b.ResetTimer()
			go rawReader(s, b.N, done)
			bw := bufio.NewWriterSize(c, 64<<10)
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(size))
			for range b.N {
				bw.Write(hdr[:])
				bw.Write(payload)
			}
			bw.Flush()
			<-done
			reportRate(b, b.N)
		})
	}
}

func BenchmarkRawFanOut(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			payload := make([]byte, 64)
			var ws []*bufio.Writer
			var dones []chan struct{}
			for range n {
				c, s := rawPair(b)
				done := make(chan struct{})
				dones = append(dones, done)
				ws = append(ws, bufio.NewWriterSize(c, 64<<10))
				go rawReader(s, b.N, done)
			}
			b.ResetTimer()
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], 64)
			for range b.N {
				for _, w := range ws {
					w.Write(hdr[:])
					w.Write(payload)
				}
			}
			for _, w := range ws {
				w.Flush()
			}
			for _, d := range dones {
				<-d
			}
			reportRate(b, b.N*n)
		})
	}
}

func BenchmarkRawPingPong(b *testing.B) {
	c, s := rawPair(b)
	go func() {
		buf := make([]byte, 4+64)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 4+64)
	binary.BigEndian.PutUint32(buf, 64)
	b.ResetTimer()
	for range b.N {
		c.Write(buf)
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rtt")
}

func benchServer(b *testing.B, cfg ServerConfig) (*Server, string) {
	if cfg.Codec == nil {
		cfg.Codec = codec.Raw
	}
	return testServer(b, cfg)
}

func benchClient(b *testing.B, addr string, opts ...Option) *Client {
	return dialT(b, addr, append([]Option{WithCodec(codec.Raw)}, opts...)...)
}

func BenchmarkClientToServer(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s, addr := benchServer(b, ServerConfig{})
			cnt := newCounter(b.N)
			s.Handle(">", func(*Message) { cnt.add() })
			c := benchClient(b, addr)
			payload := make([]byte, size)
			ctx := testCtx(b)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.SendEncoded(ctx, "bench", payload); err != nil {
					b.Fatal(err)
				}
			}
			cnt.wait(b)
			reportRate(b, b.N)
		})
	}
}

func BenchmarkServerToClient(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s, addr := benchServer(b, ServerConfig{SlowConsumer: Block})
			cnt := newCounter(b.N)
			c := benchClient(b, addr, WithFallback(func(*Message) { cnt.add() }))
			payload := make([]byte, size)
			id := c.ID()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.SendEncoded(id, "bench", payload); err != nil {
					b.Fatal(err)
				}
			}
			cnt.wait(b)
			reportRate(b, b.N)
		})
	}
}

func BenchmarkRequestReply(b *testing.B) {
	s, addr := benchServer(b, ServerConfig{})
	s.Handle("echo", func(m *Message) { m.Respond(m.Data) })
	c := benchClient(b, addr)
	payload := make([]byte, 64)
	ctx := testCtx(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Request(ctx, "echo", payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rtt")
}

func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, addr := benchServer(b, ServerConfig{SlowConsumer: Block})
			cnt := newCounter(b.N * n)
			for range n {
				benchClient(b, addr, WithFallback(func(*Message) { cnt.add() }))
			}
			payload := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.BroadcastEncoded("bench", payload); err != nil {
					b.Fatal(err)
				}
			}
			cnt.wait(b)
			reportRate(b, b.N*n)
		})
	}
}

func BenchmarkHubPubSub(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			_, addr := benchServer(b, ServerConfig{Hub: true, SlowConsumer: Block})
			cnt := newCounter(b.N)
			sub := benchClient(b, addr)
			if _, err := sub.Subscribe(testCtx(b), "bench.>", func(*Message) { cnt.add() }); err != nil {
				b.Fatal(err)
			}
			pub := benchClient(b, addr)
			payload := make([]byte, size)
			ctx := testCtx(b)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := pub.SendEncoded(ctx, "bench.x", payload); err != nil {
					b.Fatal(err)
				}
			}
			cnt.wait(b)
			reportRate(b, b.N)
		})
	}
}

func BenchmarkSocketIPCClientToServer(b *testing.B) {
	s, addr := testServer(b, ServerConfig{})
	cnt := newCounter(b.N)
	s.Handle(">", func(*Message) { cnt.add() })
	c := dialT(b, addr, WithWire(SocketIPC))
	eventually(b, "connected", func() bool { return len(s.Clients()) == 1 })
	msg := map[string]any{"n": 1, "s": "0123456789012345678901234567890123456789"}
	ctx := testCtx(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.Send(ctx, "bench", msg); err != nil {
			b.Fatal(err)
		}
	}
	cnt.wait(b)
	reportRate(b, b.N)
}

func BenchmarkIndexMatch(b *testing.B) {
	for _, n := range []int{1, 100, 10_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var x index[int]
			for i := range n {
				switch i % 3 {
				case 0:
					x.add(fmt.Sprintf("svc.%d.*", i), i, 1)
				case 1:
					x.add(fmt.Sprintf("svc.%d.>", i), i, 1)
				default:
					x.add(fmt.Sprintf("svc.%d.x", i), i, 1)
				}
			}
			topics := make([]string, 1024)
			for i := range topics {
				topics[i] = fmt.Sprintf("svc.%d.x", i*7%n)
			}
			b.Run("cached", func(b *testing.B) {
				b.ReportAllocs()
				for i := range b.N {
					if len(x.match(topics[i%len(topics)])) == 0 {
						b.Fatal("no match")
					}
				}
			})
			b.Run("uncached", func(b *testing.B) {
				b.ReportAllocs()
				for i := range b.N {
					x.mu.Lock()
					x.changedLocked()
					x.mu.Unlock()
					if len(x.match(topics[i%len(topics)])) == 0 {
						b.Fatal("no match")
					}
				}
			})
		})
	}
}

func BenchmarkHubRequestReply(b *testing.B) {
	_, addr := benchServer(b, ServerConfig{Hub: true})
	svc := benchClient(b, addr)
	if _, err := svc.Subscribe(testCtx(b), "echo", func(m *Message) { m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	c := benchClient(b, addr)
	payload := make([]byte, 64)
	ctx := testCtx(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Request(ctx, "echo", payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rtt")
}
