package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Transports a measurement can run over.
const (
	Raw       = "raw"  // the raw length-prefixed Unix stream
	SB        = "sb"   // switchboard native protocol (ipc)
	SBSockIPC = "sipc" // switchboard in socket-ipc mode (JSON + "\0\0")
	NATS      = "nats" // NATS embedded server and nats.go, TCP loopback
	Node      = "node" // Node's @crussell52/socket-ipc
	Channel   = "ch"   // switchboard's self-hosting channel
)

// Layouts: how the processes of a measurement are arranged.
const (
	LayoutStream   = "stream"   // one-way: a server and a client process, c2s or s2c
	LayoutFanout   = "fanout"   // a server writes every message to N client connections
	LayoutPubSub   = "pubsub"   // a hub, a subscriber and a publisher: two hops
	LayoutPingPong = "pingpong" // one message in flight, echoed by the server
	LayoutRequest  = "request"  // request/reply through a hub, replier in a third process
	LayoutIdle     = "idle"     // N idle connections; the server's resident memory
	LayoutTakeover = "takeover" // a self-hosting channel's host is killed; a survivor takes over
)

// Spec identifies one measurement: runs with equal specs are the same
// measurement, shared by every scenario that needs it.
type Spec struct {
	Layout    string
	Transport string
	Dir       string // stream: "c2s" or "s2c"
	Size      int    // payload bytes
	Conns     int    // stream: sending clients; fanout: readers; idle: connections
	Subs      int    // pubsub: subscriptions held besides the one that matches
	Idle      int    // stream: idle connections held open meanwhile by another process
}

// String names the measurement for progress output and errors.
func (s Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Transport, s.Layout)
	if s.Dir != "" {
		fmt.Fprintf(&b, " %s", s.Dir)
	}
	if s.Layout != LayoutIdle && s.Layout != LayoutTakeover {
		fmt.Fprintf(&b, " %s", sizeName(s.Size))
	}
	if s.Conns > 1 {
		fmt.Fprintf(&b, " x%d", s.Conns)
	}
	if s.Subs > 0 {
		fmt.Fprintf(&b, " +%d subs", s.Subs)
	}
	if s.Idle > 0 {
		fmt.Fprintf(&b, " +%d idle", s.Idle)
	}
	return b.String()
}

// Metrics a measurement yields.
const (
	MetricRate    = "rate"     // messages (or deliveries) per second
	MetricP50     = "p50"      // microseconds
	MetricP99     = "p99"      // microseconds
	MetricPerConn = "per-conn" // bytes of server RSS per connection
)

// Which way a scenario's figure is better.
const (
	Higher = "higher"
	Lower  = "lower"
)

// What a target applies to.
const (
	OfRatio = "ratio" // the target bounds value / baseline
	OfValue = "value" // the target bounds the value itself
)

// Scenario is one row of the results: a switchboard figure beside its
// baseline from the same run.
type Scenario struct {
	Name         string
	About        string // one line for --list and the docs
	Measure      Spec
	Metric       string
	Baseline     Spec
	BaselineName string // what the baseline is, in words
	Unit         string
	Target       float64 // 0: reported without a target
	TargetOf     string  // OfRatio or OfValue
	Better       string  // Higher or Lower
	// NotMeasured, when set, says why this scenario cannot be measured by
	// this build; the row is reported with Measured false.
	NotMeasured string
}

// needs returns the peer (NATS, Node) the scenario runs against, or "".
func (s *Scenario) needs() string {
	for _, t := range []string{s.Measure.Transport, s.Baseline.Transport} {
		if t == NATS || t == Node {
			return t
		}
	}
	return ""
}

// Chart sections, by what a scenario's ratio compares.
const (
	GroupAbsolute = "Against an absolute target · lower is better"
	GroupRaw      = "Throughput against the raw socket · higher is better"
	GroupPeers    = "Against peers (NATS, Node socket-ipc) · higher is better"
	GroupScaling  = "Scaling: against switchboard's own simplest case · higher is better"
	GroupLatency  = "Latency and memory · lower is better"
)

// group returns the chart section of s.
func (s *Scenario) group() string {
	switch {
	case s.Baseline == Spec{}:
		return GroupAbsolute
	case s.Better == Lower:
		return GroupLatency
	case s.needs() != "":
		return GroupPeers
	case s.Baseline.Transport != Raw:
		return GroupScaling
	}
	return GroupRaw
}

// DefaultScenarios are the scenarios of issue 6's targets, in report order.
var DefaultScenarios = []string{
	"direct-c2s-64", "direct-c2s-1k", "direct-s2c-64", "direct-s2c-1k",
	"hub-pubsub-64", "hub-pubsub-64-nats", "hub-pubsub-64-relay",
	"broadcast-10", "broadcast-100",
	"reqrep-direct-p50", "reqrep-direct-p99", "reqrep-hub-p50", "reqrep-hub-p99",
	"reqrep-hub-relay-p50", "reqrep-hub-relay-p99",
	"sipc-json-node",
	"idle-10000", "clients-1000", "connected-1000",
	"channel-takeover-p50", "channel-takeover-p99",
}

// ScaleScenarios show how cost grows with payload size, clients,
// connections, receivers and subscriptions (docs/performance.md's tables).
var ScaleScenarios = []string{
	"direct-c2s-64", "direct-c2s-1k", "direct-c2s-16k", "direct-c2s-64k", "direct-c2s-1m",
	"direct-s2c-64", "direct-s2c-1k", "direct-s2c-16k", "direct-s2c-64k", "direct-s2c-1m",
	"clients-10", "clients-100", "clients-1000", "clients-10000",
	"idle-100", "idle-1000", "idle-10000",
	"subs-10", "subs-1000", "subs-100000",
	"broadcast-10", "broadcast-100", "broadcast-1000",
}

// Scenario sets that --scenario accepts by name.
var scenarioSets = map[string][]string{
	"targets": DefaultScenarios,
	"scale":   ScaleScenarios,
}

// ScenarioHelp describes the scenario names Lookup accepts.
const ScenarioHelp = `Scenarios (SIZE: 64, 1k, 64k, 1m, ...; N: a count). The sets "targets" (the
default) and "scale" (payload sizes, clients, connections, subscriptions) name
many at once.
  direct-c2s-SIZE       client -> server one-way, vs the raw stream       (>= 50% at 64 B, >= 80% at 1 KiB)
  direct-s2c-SIZE       server -> client one-way, vs the raw stream       (same targets)
  hub-pubsub-SIZE       publisher -> hub -> subscriber, vs the raw stream (>= 25%)
  hub-pubsub-64-nats    the same, vs NATS pub->sub (--against nats)       (>= 3x)
  hub-pubsub-64-relay   the same, vs a raw relay process between two raw clients (the floor of two hops)
  subs-N                hub pub->sub 64 B while the subscriber holds N patterns
  broadcast-N           server broadcast to N clients, 64 B, vs raw fan-out (>= 40%)
  reqrep-direct-p50|p99 request/reply round trip to the server, vs raw ping-pong (p50 <= 1.5x)
  reqrep-hub-p50|p99    request/reply through the hub to a third process  (p50 <= 2.5x)
  reqrep-hub-relay-p50|p99  the same, vs a raw relay process between two raw clients
  sipc-json-node        socket-ipc mode JSON client -> server, vs Node socket-ipc (--against node) (>= 3x)
  idle-N                server RSS per idle connection with N connections (<= 16 KiB at 10,000)
  clients-N             client -> server throughput with N sending clients, vs 1 client (>= 80% at 1,000)
  connected-N           client -> server throughput of 1 client while N are connected, vs 1 (>= 80% at 1,000)
  channel-takeover-p50|p99  self-hosting channel takeover after SIGKILL of the host (<= 100 ms, <= 250 ms)`

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, error) {
	bad := func() (Scenario, error) {
		return Scenario{}, fmt.Errorf("unknown scenario %q", name)
	}
	rawStream := func(size, conns int) Spec {
		return Spec{Layout: LayoutStream, Transport: Raw, Dir: "c2s", Size: size, Conns: conns}
	}
	thr := func(s Scenario, target float64) Scenario {
		s.Name, s.Metric, s.Unit, s.Better, s.TargetOf, s.Target = name, MetricRate, "msg/s", Higher, OfRatio, target
		return s
	}
	parts := strings.Split(name, "-")
	switch {
	case len(parts) == 3 && parts[0] == "direct" && (parts[1] == "c2s" || parts[1] == "s2c"):
		size, ok := parseSize(parts[2])
		if !ok {
			return bad()
		}
		// Issue 6 sets targets at 64 B and 1 KiB; other sizes are reported.
		target := map[int]float64{64: 0.5, 1024: 0.8}[size]
		return thr(Scenario{
			About:        fmt.Sprintf("direct %s one-way, %s payloads", dirWords(parts[1]), sizeName(size)),
			Measure:      Spec{Layout: LayoutStream, Transport: SB, Dir: parts[1], Size: size, Conns: 1},
			Baseline:     rawStream(size, 1),
			BaselineName: "raw stream " + sizeName(size),
		}, target), nil
	case name == "hub-pubsub-64-nats" || name == "hub-pubsub-64-relay":
		// The hub against another two-hop layout: NATS (target 3x), or a
		// raw relay process (reported).
		peer, about, base, target := NATS, "NATS", "NATS pub->sub 64 B", 3.0
		if parts[3] == "relay" {
			peer, about, base, target = Raw, "a raw relay (two raw hops)", "raw relay stream 64 B", 0
		}
		return thr(Scenario{
			About:        "hub publish -> subscribe, 64 B, against " + about,
			Measure:      Spec{Layout: LayoutPubSub, Transport: SB, Size: 64, Conns: 1},
			Baseline:     Spec{Layout: LayoutPubSub, Transport: peer, Size: 64, Conns: 1},
			BaselineName: base,
		}, target), nil
	case name == "reqrep-hub-relay-p50" || name == "reqrep-hub-relay-p99":
		return Scenario{
			Name: name, Metric: parts[3], Unit: "us", Better: Lower, TargetOf: OfRatio,
			About:        "request/reply through the hub, 64 B, against a raw relay, " + parts[3],
			Measure:      Spec{Layout: LayoutRequest, Transport: SB, Size: 64, Conns: 1},
			Baseline:     Spec{Layout: LayoutRequest, Transport: Raw, Size: 64, Conns: 1},
			BaselineName: "raw relay round trip " + parts[3],
		}, nil
	case len(parts) == 3 && parts[0] == "hub" && parts[1] == "pubsub":
		size, ok := parseSize(parts[2])
		if !ok {
			return bad()
		}
		return thr(Scenario{
			About:        fmt.Sprintf("hub publish -> subscribe (two hops), %s", sizeName(size)),
			Measure:      Spec{Layout: LayoutPubSub, Transport: SB, Size: size, Conns: 1},
			Baseline:     rawStream(size, 1),
			BaselineName: "raw stream " + sizeName(size),
		}, map[int]float64{64: 0.25}[size]), nil
	case len(parts) == 2 && parts[0] == "subs":
		n, ok := parseCount(parts[1])
		if !ok {
			return bad()
		}
		return thr(Scenario{
			About:        fmt.Sprintf("hub pub -> sub, 64 B, subscriber holding %d patterns", n),
			Measure:      Spec{Layout: LayoutPubSub, Transport: SB, Size: 64, Conns: 1, Subs: n - 1},
			Baseline:     Spec{Layout: LayoutPubSub, Transport: SB, Size: 64, Conns: 1},
			BaselineName: "hub pub->sub, 1 pattern",
		}, 0), nil
	case len(parts) == 2 && parts[0] == "broadcast":
		n, ok := parseCount(parts[1])
		if !ok {
			return bad()
		}
		s := thr(Scenario{
			About:        fmt.Sprintf("server broadcast to %d clients, 64 B (deliveries)", n),
			Measure:      Spec{Layout: LayoutFanout, Transport: SB, Size: 64, Conns: n},
			Baseline:     Spec{Layout: LayoutFanout, Transport: Raw, Size: 64, Conns: n},
			BaselineName: fmt.Sprintf("raw fan-out to %d", n),
		}, map[int]float64{10: 0.4, 100: 0.4}[n])
		s.Unit = "deliveries/s"
		return s, nil
	case len(parts) == 3 && parts[0] == "reqrep" && (parts[1] == "direct" || parts[1] == "hub") &&
		(parts[2] == "p50" || parts[2] == "p99"):
		s := Scenario{
			Name: name, Metric: parts[2], Unit: "us", Better: Lower, TargetOf: OfRatio,
			Baseline:     Spec{Layout: LayoutPingPong, Transport: Raw, Size: 64, Conns: 1},
			BaselineName: "raw ping-pong " + parts[2],
		}
		if parts[1] == "direct" {
			s.About = "request/reply round trip to the server, 64 B, " + parts[2]
			s.Measure = Spec{Layout: LayoutPingPong, Transport: SB, Size: 64, Conns: 1}
			if parts[2] == "p50" {
				s.Target = 1.5
			}
		} else {
			s.About = "request/reply through the hub to another client, 64 B, " + parts[2]
			s.Measure = Spec{Layout: LayoutRequest, Transport: SB, Size: 64, Conns: 1}
			if parts[2] == "p50" {
				s.Target = 2.5
			}
		}
		return s, nil
	case name == "sipc-json-node":
		return thr(Scenario{
			About:        "socket-ipc mode (JSON) client -> server, against Node socket-ipc",
			Measure:      Spec{Layout: LayoutStream, Transport: SBSockIPC, Dir: "c2s", Size: 64, Conns: 1},
			Baseline:     Spec{Layout: LayoutStream, Transport: Node, Dir: "c2s", Size: 64, Conns: 1},
			BaselineName: "Node socket-ipc client->server",
		}, 3), nil
	case len(parts) == 2 && parts[0] == "idle":
		n, ok := parseCount(parts[1])
		if !ok {
			return bad()
		}
		return Scenario{
			Name: name, About: fmt.Sprintf("server memory per idle connection, %d connections", n),
			Measure:      Spec{Layout: LayoutIdle, Transport: SB, Conns: n},
			Metric:       MetricPerConn,
			Baseline:     Spec{Layout: LayoutIdle, Transport: Raw, Conns: n},
			BaselineName: "raw server: goroutine + 4 KiB buffer/conn",
			Unit:         "B/conn", Target: 16 << 10, TargetOf: OfValue, Better: Lower,
		}, nil
	case len(parts) == 2 && parts[0] == "clients":
		n, ok := parseCount(parts[1])
		if !ok {
			return bad()
		}
		return thr(Scenario{
			About:        fmt.Sprintf("client -> server 64 B, %d clients sending at once (total)", n),
			Measure:      Spec{Layout: LayoutStream, Transport: SB, Dir: "c2s", Size: 64, Conns: n},
			Baseline:     Spec{Layout: LayoutStream, Transport: SB, Dir: "c2s", Size: 64, Conns: 1},
			BaselineName: "the same with 1 client",
		}, map[int]float64{1000: 0.8}[n]), nil
	case len(parts) == 2 && parts[0] == "connected":
		n, ok := parseCount(parts[1])
		if !ok {
			return bad()
		}
		return thr(Scenario{
			About:        fmt.Sprintf("client -> server 64 B from 1 client while %d clients are connected", n),
			Measure:      Spec{Layout: LayoutStream, Transport: SB, Dir: "c2s", Size: 64, Conns: 1, Idle: n - 1},
			Baseline:     Spec{Layout: LayoutStream, Transport: SB, Dir: "c2s", Size: 64, Conns: 1},
			BaselineName: "the same with 1 client connected",
		}, map[int]float64{1000: 0.8}[n]), nil
	case name == "channel-takeover-p50" || name == "channel-takeover-p99":
		s := Scenario{
			Name: name, About: "self-hosting channel: takeover after SIGKILL of the host",
			Measure: Spec{Layout: LayoutTakeover, Transport: Channel},
			Metric:  parts[2], Unit: "ms", Better: Lower, TargetOf: OfValue, Target: 100,
		}
		if parts[2] == "p99" {
			s.Target = 250
		}
		return s, nil
	}
	return bad()
}

func dirWords(dir string) string {
	if dir == "s2c" {
		return "server -> client"
	}
	return "client -> server"
}

// parseSize reads 64, 1k, 64k, 1m (binary multiples).
func parseSize(s string) (int, bool) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n*mult > 16<<20 {
		return 0, false
	}
	return n * mult, true
}

func parseCount(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && n <= 1_000_000
}

// sizeName writes a payload size the way scenario names do, with a unit.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
