package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ipc/switchboard/activation"
	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/ipc"
)

// shutdownGrace bounds the graceful part of a shutdown; what is left after
// it is closed at once.
const shutdownGrace = 5 * time.Second

// errNoKey is the answer to a kv.get of a key that was never set.
var errNoKey = errors.New("no such key")

// store is the daemon's data. Handlers run on each client connection's own
// goroutine, so several run at once.
type store struct {
	srv *ipc.Server

	mu     sync.Mutex
	values map[string]string
}

// get answers kv.get: the payload is the key, the reply its value.
func (s *store) get(m *ipc.Message) {
	if !m.IsRequest() {
		return
	}
	var key string
	if err := m.Decode(&key); err != nil {
		m.RespondError(fmt.Errorf("bad kv.get payload: %v", err))
		return
	}
	s.mu.Lock()
	v, ok := s.values[key]
	s.mu.Unlock()
	if !ok {
		m.RespondError(fmt.Errorf("%w: %s", errNoKey, key))
		return
	}
	m.Respond(v)
}

// set answers kv.set and publishes the change on kv.changed.KEY.
func (s *store) set(m *ipc.Message) {
	if !m.IsRequest() {
		return
	}
	var req setRequest
	if err := m.Decode(&req); err != nil {
		m.RespondError(fmt.Errorf("bad kv.set payload: %v", err))
		return
	}
	if err := checkKey(req.Key); err != nil {
		m.RespondError(err)
		return
	}
	// Publishing under the lock keeps the changes of one key in the order
	// they were stored. It does not block: with the default slow-consumer
	// policy a watcher that cannot keep up is disconnected, not waited for.
	s.mu.Lock()
	s.values[req.Key] = req.Value
	err := s.srv.Publish(topicChanged+req.Key, change(req))
	s.mu.Unlock()
	if err != nil {
		m.RespondError(err)
		return
	}
	m.Respond(nil)
}

// checkKey reports whether key can be a topic's tail: dot-separated tokens,
// none empty, no wildcards.
func checkKey(key string) error {
	if !ipc.ValidPattern(key) {
		return fmt.Errorf("bad key %q: want dot-separated tokens, none empty", key)
	}
	for tok := range strings.SplitSeq(key, ".") {
		if tok == "*" || tok == ">" {
			return fmt.Errorf("bad key %q: %q is a wildcard", key, tok)
		}
	}
	return nil
}

// serve runs the daemon until ctx is cancelled, then shuts it down
// gracefully. It prints "listening on ADDR" on stdout once clients can
// connect, and "stopped" once it has shut down.
func serve(ctx context.Context, addr string, stdout, stderr io.Writer) error {
	logger := log.New(stderr, "daemon: ", 0) // safe from the server's goroutines
	l, where, err := listen(ctx, addr, logger)
	if err != nil {
		return err
	}
	st := &store{values: make(map[string]string)}
	srv, err := ipc.NewServer(ipc.ServerConfig{
		OnError: func(err error) { logger.Print(err) },
	})
	if err != nil {
		l.Close()
		return err
	}
	st.srv = srv
	srv.Handle(topicGet, st.get)
	srv.Handle(topicSet, st.set)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	fmt.Fprintf(stdout, "listening on %s (pid %d)\n", where, os.Getpid())

	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Printf("shutdown: %v; closing what is left", err)
		srv.Close()
	}
	if err := <-served; !errors.Is(err, ipc.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// listen returns the daemon's listener and a description of it. With an
// address it listens there; without one it takes the socket named "kv" from
// the service manager, or, when the process was not socket-activated,
// listens on the default address.
func listen(ctx context.Context, addr string, logger *log.Logger) (net.Listener, string, error) {
	if addr != "" {
		l, err := endpoint.Listen(ctx, addr)
		return l, addr, err
	}
	activated := "activation:" + activationName
	l, err := endpoint.Listen(ctx, activated)
	if err == nil {
		return l, activated, nil
	}
	if !errors.Is(err, activation.ErrNotActivated) {
		return nil, "", err
	}
	if errors.Is(err, activation.ErrOtherProcess) {
		// LISTEN_FDS is set, but for another pid: a process between the
		// service manager and this one, such as "go run", received the
		// sockets. Run the built program directly instead.
		logger.Printf("not using the activated sockets: %v", err)
	}
	if addr, err = defaultAddr(); err != nil {
		return nil, "", err
	}
	l, err = endpoint.Listen(ctx, addr)
	return l, addr, err
}
