package main

// The NATS peer of "switchboard bench": an embedded nats-server and nats.go
// clients over TCP loopback, with the payloads and process layout of
// switchboard's hub scenarios. NATS is a benchmark-only dependency: nothing
// but this file imports it, and no library package of switchboard does.

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-ipc/switchboard/internal/bench"
)

func init() {
	bench.Register("nats-server", natsServerRole)
	bench.Register("nats-client", natsClientRole)
}

// natsServerRole runs an embedded NATS server on a free loopback port.
func natsServerRole(ctx context.Context, w *bench.Worker, p bench.Params) error {
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		return err
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(30 * time.Second) {
		return errors.New("nats server not ready within 30s")
	}
	w.Ready(ns.ClientURL())
	<-ctx.Done()
	w.Report(bench.Report{})
	return nil
}

// natsClientRole subscribes and counts, or publishes for the duration.
func natsClientRole(ctx context.Context, w *bench.Worker, p bench.Params) error {
	nc, err := nats.Connect(p.Addr, nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	payload := bench.Payload(p.Size)
	switch p.Mode {
	case "sub":
		m := bench.NewMeter()
		ctr := m.NewCounter()
		sub, err := nc.Subscribe(p.Topic, func(*nats.Msg) { ctr.Add(1) })
		if err != nil {
			return err
		}
		// No slow-consumer drops: the benchmark wants every message counted.
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			return err
		}
		if err := nc.Flush(); err != nil { // the server has the subscription
			return err
		}
		w.Ready("")
		m.Start()
		<-ctx.Done()
		w.Report(m.Stop())
		return nil
	case "pub":
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		var sent int64
		deadline := time.Now().Add(p.Duration)
		for time.Now().Before(deadline) {
			for range 256 {
				if err := nc.Publish(p.Topic, payload); err != nil {
					return err
				}
			}
			sent += 256
		}
		if err := nc.Flush(); err != nil {
			return err
		}
		w.Report(bench.Report{Sent: sent})
		return nil
	}
	return fmt.Errorf("nats-client: unknown mode %q", p.Mode)
}
