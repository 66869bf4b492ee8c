package wire

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"testing"
)

// loopReader serves the same bytes forever, as a socket full of frames.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.data[l.off:])
		n += c
		l.off = (l.off + c) % len(l.data)
	}
	return n, nil
}

var payloadSizes = []int{64, 1024}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range payloadSizes {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			f := Frame{Type: TypeMsg, Seq: 1, Topic: []byte("orders.new"), Payload: make([]byte, size)}
			dst := make([]byte, 0, FrameSize(&f))
			b.SetBytes(int64(FrameSize(&f)))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendFrame(dst[:0], &f)
			}
		})
	}
}

// streamSizes adds frames at and beyond the reader's batching size, which
// once made the Reader grow and shrink its buffer on every frame.
var streamSizes = []int{64, 1024, 64 << 10, 1 << 20}

func BenchmarkReadFrame(b *testing.B) {
	for _, size := range streamSizes {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			f := Frame{Type: TypeMsg, Seq: 1, Topic: []byte("orders.new"), Payload: make([]byte, size)}
			one := AppendFrame(nil, &f)
			r := NewReader(&loopReader{data: bytes.Repeat(one, 64)}, 0)
			var got Frame
			b.SetBytes(int64(len(one)))
			b.ReportAllocs()
			for b.Loop() {
				if err := r.ReadFrame(&got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// jsonMessage returns a JSON value of about size bytes.
func jsonMessage(size int) []byte {
	pad := size - len(`{"id":1,"text":""}`)
	return []byte(`{"id":1,"text":"` + string(bytes.Repeat([]byte("x"), pad)) + `"}`)
}

func BenchmarkAppendJSONFrame(b *testing.B) {
	for _, size := range payloadSizes {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			msg := jsonMessage(size)
			dst := AppendJSONFrame(nil, "orders.new", msg)
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			for b.Loop() {
				dst = AppendJSONFrame(dst[:0], "orders.new", msg)
			}
		})
	}
}

func BenchmarkJSONReadMessage(b *testing.B) {
	for _, size := range streamSizes {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			one := AppendJSONFrame(nil, "orders.new", jsonMessage(size))
			r := NewJSONReader(&loopReader{data: bytes.Repeat(one, 64)}, 0)
			b.SetBytes(int64(len(one)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := r.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONReadMessageSlow measures the general decoder, taken for
// shapes JSON.stringify does not produce (here: keys in the other order).
func BenchmarkJSONReadMessageSlow(b *testing.B) {
	one := []byte(`{"message":` + string(jsonMessage(64)) + `,"topic":"orders.new"}` + Delimiter)
	r := NewJSONReader(&loopReader{data: bytes.Repeat(one, 64)}, 0)
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleReaders measures the memory of 10,000 connections that have
// each received one small frame and then gone quiet: what a server holds
// per idle client. B/reader is the heap each Reader keeps.
func BenchmarkIdleReaders(b *testing.B) {
	const n = 10000
	one := AppendFrame(nil, &Frame{Type: TypeHello, Seq: 1, Topic: []byte("client.hello")})
	src := make([]bytes.Reader, n)
	readers := make([]*Reader, n)
	var f Frame
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		clear(readers)
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range readers {
			src[i].Reset(one)
			readers[i] = NewReader(&src[i], 0)
			if err := readers[i].ReadFrame(&f); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/reader")
	}
	runtime.KeepAlive(readers)
}

var _ io.Reader = (*loopReader)(nil)
