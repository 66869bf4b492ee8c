package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/switchboard-ipc/switchboard/ipc"
)

// cli is the client side: one command, one connection.
type cli struct {
	addr    string
	timeout time.Duration // bounds connecting and each request
	stdout  io.Writer
}

// dial connects to the daemon. A client retries a refused connection
// forever by default, which suits a long-lived process; a command-line tool
// should say at once that the daemon is not running, so the first failed
// attempt ends the wait.
func (c *cli) dial(ctx context.Context) (*ipc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var (
		mu      sync.Mutex
		lastErr error
	)
	client, err := ipc.Dial(ctx, c.addr, ipc.WithOnError(func(err error) {
		var cerr *ipc.ConnectError
		if errors.As(err, &cerr) {
			mu.Lock()
			lastErr = cerr.Err
			mu.Unlock()
			cancel()
		}
	}))
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if lastErr != nil {
			err = lastErr
		}
		return nil, fmt.Errorf("no daemon at %s (start one with \"daemon serve\"): %w", c.addr, err)
	}
	return client, nil
}

// request sends one request and decodes the reply into reply (if not nil).
func (c *cli) request(ctx context.Context, topic string, msg, reply any) error {
	client, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	m, err := client.Request(ctx, topic, msg)
	var remote *ipc.RemoteError
	switch {
	case errors.As(err, &remote):
		return errors.New(remote.Text) // the daemon's own words, such as "no such key: x"
	case err != nil:
		return err
	case reply != nil:
		return m.Decode(reply)
	}
	return nil
}

// get prints the value of key.
func (c *cli) get(ctx context.Context, key string) error {
	var value string
	if err := c.request(ctx, topicGet, key, &value); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.stdout, value)
	return err
}

// set sets key to value.
func (c *cli) set(ctx context.Context, key, value string) error {
	if err := checkKey(key); err != nil {
		return usageError(err.Error())
	}
	return c.request(ctx, topicSet, setRequest{Key: key, Value: value}, nil)
}

// watch prints "KEY=VALUE" for every set of a key matching pattern, until
// ctx is cancelled or, when count > 0, after count changes. It prints
// "watching PATTERN" on stderr once the daemon has confirmed the
// subscription, so a change made after that line is never missed.
func (c *cli) watch(ctx context.Context, pattern string, count int, stderr io.Writer) error {
	topic := topicChanged + pattern
	if !ipc.ValidPattern(topic) {
		return usageError(fmt.Sprintf("bad pattern %q: want tokens separated by dots, \"*\" for one token, a last \">\" for the rest", pattern))
	}
	client, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()

	enough := make(chan struct{})
	seen := 0
	// The handler runs on the client's connection goroutine, one message at
	// a time, so seen and stdout need no lock.
	handler := func(m *ipc.Message) {
		var ch change
		if err := m.Decode(&ch); err != nil {
			fmt.Fprintf(stderr, "daemon: bad change on %s: %v\n", m.Topic, err)
			return
		}
		fmt.Fprintf(c.stdout, "%s=%s\n", ch.Key, ch.Value)
		if seen++; seen == count {
			close(enough)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := client.Subscribe(sctx, topic, handler); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "watching %s\n", pattern)
	select {
	case <-enough:
	case <-ctx.Done():
	}
	return nil
}
