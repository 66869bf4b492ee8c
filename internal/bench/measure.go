package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// part is what a process contributes to a measurement.
type part int

const (
	partOther    part = iota // a hub: carries messages, reports nothing
	partReceiver             // counts messages; reports when stopped
	partSender               // sends for the duration, then reports on its own
)

// procSpec is one process of a measurement.
type procSpec struct {
	part   part
	params Params // Addr is filled in once the server reports it
}

// roleNames returns the server and client role names of a transport.
func roleNames(transport string) (server, client, hub string) {
	switch transport {
	case Raw:
		return "raw-server", "raw-client", "raw-relay"
	case SB, SBSockIPC:
		return "sb-server", "sb-client", "sb-hub"
	case NATS:
		return "nats-server", "nats-client", "nats-server"
	case Node:
		return "node-server", "node-client", ""
	}
	return "", "", ""
}

// layout returns the processes of sp, server (or hub) first.
func layout(sp Spec, d time.Duration) ([]procSpec, error) {
	server, client, hub := roleNames(sp.Transport)
	if server == "" {
		return nil, fmt.Errorf("unknown transport %q", sp.Transport)
	}
	wire := "native"
	if sp.Transport == SBSockIPC {
		wire = "socket-ipc"
	}
	mk := func(pt part, role, mode string, conns int) procSpec {
		return procSpec{part: pt, params: Params{
			Role: role, Mode: mode, Size: sp.Size, Conns: conns, Duration: d,
			Topic: "bench.data", Subs: sp.Subs, Wire: wire,
		}}
	}
	conns := max(sp.Conns, 1)
	switch sp.Layout {
	case LayoutStream:
		if sp.Dir == "s2c" {
			return []procSpec{mk(partSender, server, "source", 1), mk(partReceiver, client, "sink", 1)}, nil
		}
		procs := []procSpec{mk(partReceiver, server, "sink", conns)}
		if sp.Idle > 0 {
			procs = append(procs, mk(partOther, client, "idle", sp.Idle))
		}
		return append(procs, mk(partSender, client, "source", conns)), nil
	case LayoutFanout:
		return []procSpec{mk(partSender, server, "source", conns), mk(partReceiver, client, "sink", conns)}, nil
	case LayoutPingPong:
		return []procSpec{mk(partOther, server, "echo", 1), mk(partSender, client, "ping", 1)}, nil
	case LayoutIdle:
		return []procSpec{mk(partOther, server, "idle", conns), mk(partOther, client, "idle", conns)}, nil
	case LayoutPubSub, LayoutRequest:
		if hub == "" {
			return nil, fmt.Errorf("transport %s has no hub", sp.Transport)
		}
		if sp.Layout == LayoutRequest {
			return []procSpec{mk(partOther, hub, "hub", 1), mk(partOther, client, "reply", 1), mk(partSender, client, "request", 1)}, nil
		}
		return []procSpec{mk(partOther, hub, "hub", 1), mk(partReceiver, client, "sub", 1), mk(partSender, client, "pub", 1)}, nil
	}
	return nil, fmt.Errorf("unknown layout %q", sp.Layout)
}

// Timeouts of the parent's waits on workers.
const (
	readyTimeout  = 60 * time.Second // 10,000 connections take a while on a busy machine
	stopGrace     = 10 * time.Second
	resultTimeout = 30 * time.Second // beyond the duration
)

// measure runs one measurement of sp and returns its metrics. label names
// it among the measurements of a bench run (run1, run1-2, ...), for the
// names of profiles and traces.
func measure(ctx context.Context, cfg *Config, sp Spec, label string) (map[string]float64, error) {
	if sp.Layout == LayoutTakeover {
		return measureTakeovers(ctx, cfg)
	}
	specs, err := layout(sp, cfg.Duration)
	if err != nil {
		return nil, err
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	addr := filepath.Join(dir, "s.sock")

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(stopGrace)
		}
	}()
	start := func(ps procSpec, i int) (*proc, error) {
		ps.params.Addr = addr
		if ps.params.Role != "node-server" && ps.params.Role != "node-client" {
			ps.params.CPUProf = profilePath(cfg.CPUProfileDir, sp, label, fmt.Sprintf("%d-%s-%s", i, ps.params.Role, ps.params.Mode))
			if tp := profilePath(cfg.TraceDir, sp, label, fmt.Sprintf("%d-%s-%s", i, ps.params.Role, ps.params.Mode)); tp != "" {
				ps.params.Trace = strings.TrimSuffix(tp, ".prof") + ".trace"
			}
		}
		cmd, err := workerCommand(cfg, dir, ps.params)
		if err != nil {
			return nil, err
		}
		p, err := startProc(fmt.Sprintf("%s/%s", ps.params.Role, ps.params.Mode), cmd)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		return p, nil
	}

	// The server first; its ready line tells the address clients dial.
	srv, err := start(specs[0], 0)
	if err != nil {
		return nil, err
	}
	l, err := srv.await(ctx, "ready", readyTimeout)
	if err != nil {
		return nil, err
	}
	if l.Addr != "" {
		addr = l.Addr
	}
	var before line
	if sp.Layout == LayoutIdle {
		if before, err = srv.await(ctx, "rss", readyTimeout); err != nil {
			return nil, err
		}
	}
	for i, ps := range specs[1:] {
		p, err := start(ps, i+1)
		if err != nil {
			return nil, err
		}
		if _, err := p.await(ctx, "ready", readyTimeout); err != nil {
			return nil, err
		}
	}

	if sp.Layout == LayoutIdle {
		if err := srv.send("rss"); err != nil {
			return nil, err
		}
		after, err := srv.await(ctx, "rss", readyTimeout)
		if err != nil {
			return nil, err
		}
		per := float64(after.RSS-before.RSS) / float64(max(sp.Conns, 1))
		if per <= 0 {
			per = 1 // below the resolution of RSS: report the smallest figure
		}
		return map[string]float64{MetricPerConn: per}, nil
	}

	for _, p := range procs {
		if err := p.send("go"); err != nil {
			return nil, p.failure(err)
		}
	}
	var reports []Report
	for i, p := range procs {
		if specs[i].part != partSender {
			continue
		}
		l, err := p.await(ctx, "result", cfg.Duration+resultTimeout)
		if err != nil {
			return nil, err
		}
		reports = append(reports, l.Report)
	}
	var received []Report
	for i, p := range procs {
		if specs[i].part != partReceiver {
			continue
		}
		if err := p.send("stop"); err != nil {
			return nil, p.failure(err)
		}
		l, err := p.await(ctx, "result", resultTimeout)
		if err != nil {
			return nil, err
		}
		received = append(received, l.Report)
	}

	if sp.Layout == LayoutPingPong || sp.Layout == LayoutRequest {
		r := reports[0]
		if r.Samples == 0 {
			return nil, errors.New("no round trip completed")
		}
		return map[string]float64{MetricP50: float64(r.P50) / 1e3, MetricP99: float64(r.P99) / 1e3}, nil
	}
	rate, err := rateOf(received)
	if err != nil {
		return nil, err
	}
	return map[string]float64{MetricRate: rate}, nil
}

// rateOf combines receivers' reports into messages per second over the
// union of their windows.
func rateOf(rs []Report) (float64, error) {
	var count, first, last int64
	for _, r := range rs {
		if r.Count == 0 {
			continue
		}
		count += r.Count
		if first == 0 || r.First < first {
			first = r.First
		}
		last = max(last, r.Last)
	}
	if count == 0 || last <= first {
		return 0, errors.New("no messages arrived")
	}
	return float64(count) / (float64(last-first) / 1e9), nil
}

// workerCommand returns the command for one worker process.
func workerCommand(cfg *Config, dir string, p Params) (*exec.Cmd, error) {
	switch p.Role {
	case "node-server", "node-client":
		return nodeCommand(cfg, dir, p)
	}
	return cfg.Worker(p.Args()), nil
}

// measureTakeovers kills the host of a self-hosting channel cfg.Takeovers times
// and returns the p50 and p99 of the takeover time, in milliseconds.
//
// Each sample is a fresh channel of three member processes: the first to
// open it hosts; a second publishes a probe every millisecond (carrying the
// time it was published); a third subscribes. The parent SIGKILLs the host
// and tells the subscriber when; the takeover time is from the kill to the
// arrival of the first probe published after it, which only a new host can
// have carried.
func measureTakeovers(ctx context.Context, cfg *Config) (map[string]float64, error) {
	var samples []time.Duration
	for range cfg.Takeovers {
		d, err := takeoverOnce(ctx, cfg)
		if err != nil {
			return nil, err
		}
		samples = append(samples, d)
	}
	var lat Latencies
	for _, d := range samples {
		lat.Add(d)
	}
	r := lat.Report()
	return map[string]float64{MetricP50: float64(r.P50) / 1e6, MetricP99: float64(r.P99) / 1e6}, nil
}

func takeoverOnce(ctx context.Context, cfg *Config) (time.Duration, error) {
	dir, err := tempDir()
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(stopGrace)
		}
	}()
	start := func(mode string) (*proc, error) {
		params := Params{Role: "ch-member", Mode: mode, Addr: dir, Topic: "bench.probe", Size: 8, Conns: 1, Duration: cfg.Duration}
		p, err := startProc("ch-member/"+mode, cfg.Worker(params.Args()))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		_, err = p.await(ctx, "ready", readyTimeout)
		return p, err
	}
	host, err := start("host")
	if err != nil {
		return 0, err
	}
	sub, err := start("sub")
	if err != nil {
		return 0, err
	}
	pub, err := start("pub")
	if err != nil {
		return 0, err
	}
	if err := pub.send("go"); err != nil {
		return 0, err
	}
	if _, err := sub.await(ctx, "flowing", readyTimeout); err != nil {
		return 0, err
	}
	killed := time.Now()
	if err := host.cmd.Process.Kill(); err != nil {
		return 0, host.failure(err)
	}
	if err := sub.send(fmt.Sprintf("mark %d", killed.UnixNano())); err != nil {
		return 0, err
	}
	l, err := sub.await(ctx, "result", resultTimeout)
	if err != nil {
		return 0, err
	}
	if l.P50 <= 0 {
		return 0, errors.New("no takeover time reported")
	}
	return time.Duration(l.P50), nil
}
