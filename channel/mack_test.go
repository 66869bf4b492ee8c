package channel

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// A member whose host sends a stream that never lets it catch up (every
// write ends inside a frame) still acknowledges it, at least every
// mackEvery bytes, so that the host does not keep the whole stream.
func TestMemberAcksWithoutCatchingUp(t *testing.T) {
	dir := testenv.ShortDir(t)
	path, err := SocketPath(dir, "straddle")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	macked := make(chan uint64, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		var f frame
		if readFrame(r, &f) != nil || f.typ != frameHello {
			return
		}
		if _, err := conn.Write(appendFrame(nil, &frame{typ: frameWelcome, id: "host", data: []byte("[]")})); err != nil {
			return
		}
		go func() {
			var f frame
			for readFrame(r, &f) == nil {
				if f.typ == frameMack && f.dseq > 0 {
					select {
					case macked <- f.dseq:
					default:
					}
				}
			}
		}()
		// 2 * mackEvery of 1 KiB messages, each write ending 10 bytes
		// into the next frame; the last frame is never finished.
		msg := frame{typ: frameMsg, id: "origin", topic: "t", data: bytes.Repeat([]byte("x"), 1000)}
		size := frameSize(&msg)
		var stream []byte
		for d := uint64(1); len(stream) < 2*mackEvery+2*size; d++ {
			msg.seq, msg.dseq = d, d
			stream = appendFrame(stream, &msg)
		}
		from := 0
		for to := size + 10; to <= len(stream); to += size {
			if _, err := conn.Write(stream[from:to]); err != nil {
				return
			}
			from = to
		}
		<-done
	}()
	c, err := Open("straddle", WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-macked:
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement from a member that never caught up")
	}
}
