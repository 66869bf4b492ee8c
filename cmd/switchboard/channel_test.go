package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// chanBuffer is a bytes.Buffer safe for one writer and polling readers.
type chanBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *chanBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *chanBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds or fails the test after a deadline.
func chanWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

func TestChannelCommand(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", testenv.ShortDir(t))

	// A stays, reading from a pipe we never write to, and prints what others publish.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	aOut, aErr := &chanBuffer{}, &chanBuffer{}
	aDone := make(chan int, 1)
	go func() {
		aDone <- run(ctx, []string{"channel", "--stay", "room"}, &stdio{in: pr, out: aOut, err: aErr})
	}()
	chanWaitFor(t, "A hosting", func() bool { return aErr.String() == "hosting room\n" })

	// B publishes three lines and exits once they were acknowledged.
	bOut, bErr := &chanBuffer{}, &chanBuffer{}
	in := strings.NewReader("hello\n{\"n\":1}\n42\n")
	if code := run(context.Background(), []string{"channel", "--topic", "chat.b", "room"}, &stdio{in: in, out: bOut, err: bErr}); code != exitOK {
		t.Fatalf("B exited %d: %s", code, bErr.String())
	}
	if bErr.String() != "connected room\n" {
		t.Fatalf("B stderr = %q, want \"connected room\\n\"", bErr.String())
	}
	// B exits only after A received everything; A prints it right after.
	chanWaitFor(t, "A printing three lines", func() bool { return strings.Count(aOut.String(), "\n") >= 3 })
	s := bufio.NewScanner(strings.NewReader(aOut.String()))
	var got []channelLine
	for s.Scan() {
		var l channelLine
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatalf("A printed %q: %v", s.Text(), err)
		}
		got = append(got, l)
	}
	want := []string{`"hello"`, `{"n":1}`, `42`}
	if len(got) != len(want) {
		t.Fatalf("A printed %d lines, want %d:\n%s", len(got), len(want), aOut.String())
	}
	for i, l := range got {
		if l.Topic != "chat.b" || string(l.Message) != want[i] || l.From == "" {
			t.Errorf("line %d = %+v, want topic chat.b, message %s", i, l, want[i])
		}
	}
	if bOut.String() != "" {
		t.Errorf("B printed %q; a member does not see its own messages", bOut.String())
	}

	cancel() // SIGINT/SIGTERM
	select {
	case code := <-aDone:
		if code != exitOK {
			t.Fatalf("A exited %d after the signal: %s", code, aErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("A did not leave after the signal")
	}
}

func TestChannelCommandUsage(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", testenv.ShortDir(t))
	for _, args := range [][]string{
		{"channel"},
		{"channel", "a", "b"},
		{"channel", "bad/name"},
		{"channel", "--topic", "a.*", "ok"},
		{"channel", "--nope", "ok"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &stdio{in: strings.NewReader(""), out: &out, err: &errb}); code != exitUsage {
			t.Errorf("%q exited %d, want %d (stderr %q)", args, code, exitUsage, errb.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"channel", "--help"}, &stdio{in: strings.NewReader(""), out: &out, err: io.Discard}); code != exitOK || !strings.Contains(out.String(), "--stay") {
		t.Errorf("--help exited %d: %q", code, out.String())
	}
}

// TestChannelCommandTakeover: when the hosting process leaves, the other
// one says it hosts now and still receives what a third one publishes.
func TestChannelCommandTakeover(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", testenv.ShortDir(t))
	start := func(name string) (context.CancelFunc, *chanBuffer, *chanBuffer, chan int) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		out, errb := &chanBuffer{}, &chanBuffer{}
		done := make(chan int, 1)
		go func() { done <- run(ctx, []string{"channel", "--stay", name}, &stdio{in: pr, out: out, err: errb}) }()
		return cancel, out, errb, done
	}
	stopA, _, aErr, aDone := start("hall")
	defer stopA()
	chanWaitFor(t, "A hosting", func() bool { return aErr.String() == "hosting hall\n" })
	stopB, bOut, bErr, bDone := start("hall")
	defer stopB()
	chanWaitFor(t, "B connected", func() bool { return bErr.String() == "connected hall\n" })

	stopA()
	if code := <-aDone; code != exitOK {
		t.Fatalf("A exited %d", code)
	}
	chanWaitFor(t, "B hosting", func() bool { return bErr.String() == "connected hall\nhosting hall\n" })

	var cErr bytes.Buffer
	if code := run(context.Background(), []string{"channel", "hall"}, &stdio{in: strings.NewReader("after\n"), out: io.Discard, err: &cErr}); code != exitOK {
		t.Fatalf("C exited %d: %s", code, cErr.String())
	}
	// C's exit means B received the message; B prints it right after.
	chanWaitFor(t, "B printing the message published after the takeover (C said "+strconv.Quote(cErr.String())+")", func() bool {
		return strings.Contains(bOut.String(), `"message":"after"`)
	})
	stopB()
	if code := <-bDone; code != exitOK {
		t.Fatalf("B exited %d", code)
	}
}
