package bench

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Workload kinds.
const (
	KindTCP     = "tcp"     // iperf3 TCP bulk transfer, Gbit/s at the receiver
	KindUDP     = "udp"     // trafgen UDP at full speed, received Mpps and loss
	KindFlood   = "flood"   // trafgen to an unknown MAC, received Mpps per flooded host
	KindLatency = "latency" // UDP request/response round trips, µs
)

// Workload is one traffic pattern.
type Workload struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Streams int    `json:"streams,omitempty"` // TCP parallel streams
	TxOff   bool   `json:"tx_off,omitempty"`  // ethtool -K eth0 tx off in the hosts
	Size    int    `json:"size,omitempty"`    // UDP frame bytes without FCS (60 = "64B")
	Flows   int    `json:"flows,omitempty"`   // distinct source MAC/IP/port combinations
	// Sink drops the frames at the receivers' eth0 ingress (sink_linux.go)
	// instead of letting their IP stack discard them.
	Sink bool `json:"sink,omitempty"`
}

// Title is the workload's human name, e.g. "UDP 64B, 1k flows".
func (w Workload) Title() string {
	switch w.Kind {
	case KindTCP:
		s := fmt.Sprintf("TCP %d stream", w.Streams)
		if w.Streams != 1 {
			s += "s"
		}
		if w.TxOff {
			return s + ", tx off"
		}
		return s + ", offloads on"
	case KindUDP:
		return fmt.Sprintf("UDP %dB, %s flow%s", frameLabel(w.Size), countLabel(w.Flows), plural(w.Flows)) + w.sinkLabel()
	case KindFlood:
		return fmt.Sprintf("flood %dB to unknown MAC", frameLabel(w.Size)) + w.sinkLabel()
	case KindLatency:
		return "UDP request/response"
	}
	return w.ID
}

// frameLabel is the customary size with FCS for 60-byte frames ("64B"), the IP
// packet size for MTU-sized ones.
func frameLabel(size int) int {
	if size == 60 {
		return 64
	}
	return size - 14
}

func (w Workload) sinkLabel() string {
	if w.Sink {
		return ", sink receiver"
	}
	return ""
}

func countLabel(n int) string {
	switch {
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return fmt.Sprint(n)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// AllWorkloads is the full set, in run order.
func AllWorkloads() []Workload {
	ws := []Workload{
		{ID: "tcp1", Kind: KindTCP, Streams: 1},
		{ID: "tcp4", Kind: KindTCP, Streams: 4},
		{ID: "tcp1-txoff", Kind: KindTCP, Streams: 1, TxOff: true},
		{ID: "tcp4-txoff", Kind: KindTCP, Streams: 4, TxOff: true},
	}
	for _, size := range []int{60, 1514} {
		for _, flows := range []int{1, 1000, 100000} {
			ws = append(ws, Workload{ID: fmt.Sprintf("udp%d-%s", frameLabel(size), countLabel(flows)), Kind: KindUDP, Size: size, Flows: flows})
		}
	}
	ws = append(ws, Workload{ID: "flood64", Kind: KindFlood, Size: 60, Flows: 1})
	// The same 64B cases with sink receivers (sink_linux.go): separate rows,
	// so the report shows the switch's own forwarding cost next to the
	// cases above, whose receivers run their IP stack on the switch's CPU.
	ws = append(ws, Workload{ID: "flood64-sink", Kind: KindFlood, Size: 60, Flows: 1, Sink: true})
	for _, flows := range []int{1, 1000, 100000} {
		ws = append(ws, Workload{ID: fmt.Sprintf("udp64-%s-sink", countLabel(flows)), Kind: KindUDP, Size: 60, Flows: flows, Sink: true})
	}
	return append(ws, Workload{ID: "rr", Kind: KindLatency})
}

// quickWorkloads is the QUICK=1 subset.
var quickWorkloads = []string{"tcp1", "tcp1-txoff", "udp64-1", "udp64-100k", "udp1500-1", "flood64", "rr"}

// Config is one benchmark run.
type Config struct {
	Quick       bool
	Reps        int           // measured repetitions per case, after one warm-up run
	Duration    time.Duration // each measured run
	Warmup      time.Duration // the unmeasured run before the repetitions
	Systems     []string      // SysDirect, SysBridge, SysGvswitchd, SysOVS, SysOVSDefault, SysOVSAFXDP
	Workloads   []string      // workload IDs; empty = the mode's default set
	Hosts       int           // hosts on the switch (>= 2; the flood workload uses all)
	AddPortRuns int           // timed single ovs-vsctl add-port calls
	BulkPorts   int           // ports added in one ovs-vsctl call
	BulkTimeout time.Duration // limit for that call, and for the del-br after it
	// BulkIPv6 turns IPv6 on for the bulk add's veths (both ends) before
	// the add (and sets BulkRSS): every port then sees its peer's link-up
	// multicast. Its bulk add and del-br times measure that case, not the
	// default's.
	BulkIPv6 bool
	// BulkRSS records the switch's resident memory 5 s after the bulk add
	// ("bulk rss MiB"); the wait is not in the bulk add's time.
	BulkRSS   bool
	RRProbes  int    // request/response round trips per repetition
	Gvswitchd string // gvswitchd binary
	// GvswitchdAlt maps a label to another gvswitchd binary (or a wrapper
	// script that execs one), run as the system "gvswitchd-LABEL" in the
	// same rounds as the others: for A/B runs of a change, measured against
	// the same references. Ratio columns stay gvswitchd's.
	GvswitchdAlt map[string]string
	OutDir       string    // results directory
	Progress     io.Writer // progress lines (nil = none)
	// Strict makes a skipped system an error (CI=true).
	Strict bool
}

// DefaultConfig is the full run, or the quick one.
func DefaultConfig(quick bool) Config {
	c := Config{
		Reps:        3,
		Duration:    3 * time.Second,
		Warmup:      1 * time.Second,
		Systems:     []string{SysDirect, SysBridge, SysGvswitchd, SysOVS, SysOVSDefault},
		Hosts:       4,
		AddPortRuns: 50,
		BulkPorts:   1000,
		BulkTimeout: 120 * time.Second,
		RRProbes:    2000,
		OutDir:      "bench/results/latest",
		Progress:    os.Stderr,
		Strict:      os.Getenv("CI") == "true",
	}
	if quick {
		c.Quick = true
		c.Reps = 1
		c.Duration = 1 * time.Second
		c.Warmup = 500 * time.Millisecond
		c.Hosts = 3
		c.AddPortRuns = 10
		c.BulkPorts = 100
		c.BulkTimeout = 60 * time.Second
		c.RRProbes = 500
		c.Workloads = quickWorkloads
	}
	return c
}

// workloads resolves c.Workloads.
func (c Config) workloads() ([]Workload, error) {
	all := AllWorkloads()
	if len(c.Workloads) == 0 {
		return all, nil
	}
	var ws []Workload
	for _, id := range c.Workloads {
		i := slices.IndexFunc(all, func(w Workload) bool { return w.ID == id })
		if i < 0 {
			var ids []string
			for _, w := range all {
				ids = append(ids, w.ID)
			}
			return nil, fmt.Errorf("unknown workload %q (have %s)", id, strings.Join(ids, ", "))
		}
		ws = append(ws, all[i])
	}
	return ws, nil
}
