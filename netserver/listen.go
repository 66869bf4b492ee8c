package netserver

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// ListenAndServe listens on addr, in any form endpoint.ParseAddr accepts, with
// s.ListenConfig (nil means endpoint's defaults: socket mode 0600, backlog
// 511), and serves the listener as Serve does. ctx bounds the listen only;
// stop the server with Shutdown or Close.
//
// An activated address (systemd:name, launchd:name) may stand for several
// sockets: all of them are served, and ListenAndServe returns when every one
// has stopped. If one fails, the others are closed and its error is returned.
// Like Serve, it always returns a non-nil error, ErrServerClosed after
// Shutdown or Close.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if s.shuttingDown() {
		return ErrServerClosed
	}
	if err := s.validate(); err != nil {
		return err
	}
	lc := s.ListenConfig
	if lc == nil {
		lc = new(endpoint.ListenConfig)
	}
	ls, err := lc.ListenAll(ctx, addr)
	if err != nil {
		return err
	}
	if len(ls) == 1 {
		return s.Serve(ls[0])
	}
	return s.serveAll(ls)
}

// serveAll serves every listener in ls on its own goroutine and returns the
// first error other than ErrServerClosed, after closing the other listeners
// and waiting for their Serve to return.
func (s *Server) serveAll(ls []net.Listener) error {
	errs := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() { errs <- s.Serve(l) })
	}
	first := <-errs
	if !errors.Is(first, ErrServerClosed) {
		for _, l := range ls {
			l.Close()
		}
	}
	wg.Wait()
	return first
}
