package main

// The self-hosting channel's side of "switchboard bench": members for the
// takeover measurement (internal/bench measureTakeovers).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-ipc/switchboard/channel"
	"github.com/switchboard-ipc/switchboard/internal/bench"
)

func init() {
	bench.Register("ch-member", channelMemberRole)
}

// probeEvery is how often the publishing member publishes a probe.
const probeEvery = time.Millisecond

// channelMemberRole is one member of the channel named "bench" in the
// directory p.Addr: the host (the first to open it), the probe publisher or
// the probe subscriber.
func channelMemberRole(ctx context.Context, w *bench.Worker, p bench.Params) error {
	ch, err := channel.Open("bench", channel.WithDir(p.Addr))
	if err != nil {
		return err
	}
	defer ch.Close()

	var (
		mu       sync.Mutex
		mark     int64 // unix ns of the host's SIGKILL, once told
		flowing  bool
		reported bool
	)
	if p.Mode == "sub" {
		_, err := ch.Subscribe(p.Topic, func(m *channel.Message) {
			arrived := time.Now().UnixNano()
			var published int64
			if m.Decode(&published) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !flowing {
				flowing = true
				w.Event("flowing")
			}
			if mark != 0 && published > mark && !reported {
				reported = true
				w.Report(bench.Report{P50: arrived - mark, Samples: 1})
			}
		})
		if err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = ch.Connect(cctx)
	if err == nil {
		err = ch.Flush(cctx) // the subscription reached the host
	}
	cancel()
	if err != nil {
		return err
	}
	switch p.Mode {
	case "host":
		if !ch.Hosting() {
			return errors.New("the first member of a new channel does not host it")
		}
		w.Ready("")
		<-ctx.Done()
		return nil
	case "sub":
		w.Ready("")
		for {
			select {
			case <-ctx.Done():
				return nil
			case m := <-w.Marks():
				mu.Lock()
				mark = m
				mu.Unlock()
			}
		}
	case "pub":
		w.Ready("")
		if err := w.WaitGo(ctx); err != nil {
			return err
		}
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				// Publish queues while no host is up; that is the point.
				if err := ch.Publish(ctx, p.Topic, time.Now().UnixNano()); err != nil && ctx.Err() == nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("ch-member: unknown mode %q", p.Mode)
}
