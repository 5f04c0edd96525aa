package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	s := summarize([]float64{5, 1, math.NaN(), 3, 2, 4})
	if s.N != 5 || s.Median != 3 || s.Min != 1 || s.Max != 5 || s.Q1 != 2 || s.Q3 != 4 {
		t.Errorf("summarize = %+v", s)
	}
	if got := summarize(nil); got.N != 0 {
		t.Errorf("summarize(nil) = %+v", got)
	}
	if q := quantile([]float64{0, 10}, 0.99); math.Abs(q-9.9) > 1e-9 {
		t.Errorf("p99 of {0,10} = %g", q)
	}
}

func TestParseNetDev(t *testing.T) {
	text := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 6000 100 0 7 0 0 0 0 1200 20 0 0 0 0 0 0
`
	c, err := parseNetDev([]byte(text), "eth0")
	if err != nil || c.RxPackets != 100 || c.RxDropped != 7 || c.TxPackets != 20 {
		t.Errorf("parseNetDev = %+v, %v", c, err)
	}
	if _, err := parseNetDev([]byte(text), "eth1"); err == nil {
		t.Error("missing device: no error")
	}
}

func TestTrafgenConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		w    Workload
		want []string
		not  []string
	}{
		{Workload{ID: "a", Kind: KindUDP, Size: 60, Flows: 1}, []string{"da=02:00:00:00:00:02", "fill(0x41, 18)", "da=" + sinkIP}, []string{"dinc"}},
		{Workload{ID: "b", Kind: KindUDP, Size: 1514, Flows: 1000}, []string{"sa=dinc(0, 999)", "sp=dinc(1024, 2023)", "fill(0x41, 1472)"}, nil},
		{Workload{ID: "c", Kind: KindUDP, Size: 60, Flows: 100000}, []string{"sa=dinc(0, 99999)", "sp=dinc(1024, 65023)"}, nil},
	}
	for _, tt := range tests {
		p, err := trafgenConfig(dir, tt.w, hostMAC(1))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: config lacks %q:\n%s", tt.w.ID, w, b)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(string(b), w) {
				t.Errorf("%s: config has %q:\n%s", tt.w.ID, w, b)
			}
		}
	}
}

func TestConfigWorkloads(t *testing.T) {
	if _, err := (Config{Workloads: []string{"nope"}}).workloads(); err == nil {
		t.Error("unknown workload accepted")
	}
	ws, err := DefaultConfig(true).workloads()
	if err != nil || len(ws) != len(quickWorkloads) {
		t.Errorf("quick workloads = %v, %v", ws, err)
	}
	seen := map[string]bool{}
	for _, w := range AllWorkloads() {
		if seen[w.ID] || w.Title() == w.ID {
			t.Errorf("workload %q duplicated or untitled", w.ID)
		}
		seen[w.ID] = true
	}
}

// TestWrite renders synthetic results: table, ratios, JSON and plots.
func TestWrite(t *testing.T) {
	r := &Results{Started: time.Unix(0, 0).UTC(), Finished: time.Unix(60, 0).UTC(), Reps: 3, DurationSec: 1, Hosts: 3,
		Systems:   []SystemInfo{{Name: SysBridge}, {Name: SysGvswitchd}, {Name: SysOVS}, {Name: SysOVSAFXDP, Skipped: "no"}},
		Workloads: AllWorkloads()}
	tcp, udp := AllWorkloads()[0], AllWorkloads()[4]
	for i, sys := range []string{SysBridge, SysGvswitchd, SysOVS} {
		for rep := range 3 {
			v := float64(i+1) + float64(rep)/10
			r.record(tcp.ID, tcp.Title(), tcp.Kind, sys, measurement{metrics: map[string]float64{"throughput": v}}, nil)
			r.record(udp.ID, udp.Title(), udp.Kind, sys, measurement{metrics: map[string]float64{"rx": v / 10},
				extra: map[string]float64{"loss": 0.25, "sent_mpps": v, "switch_cores_per_mpps": nan,
					"loss_switch": 0.2, "loss_after": 0.05}}, nil)
			r.record("rr", "UDP request/response", KindLatency, sys, measurement{metrics: map[string]float64{"p50": 10 * v, "p99": 20 * v}}, nil)
		}
		r.record("control", "control plane (5 add-port, 50-port bulk add)", "control", sys,
			measurement{metrics: map[string]float64{"add-port p50": 1, "add-port p99": 2, "bulk add": 50, "bulk del-br": 25}}, nil)
	}
	dir := t.TempDir()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	for _, want := range []string{
		"| workload | bridge | gvswitchd | ovs | gvswitchd / bridge | gvswitchd / OVS |",
		"| TCP 1 stream, offloads on | 1.10 [1.00–1.20] | 2.10 [2.00–2.20] | 3.10 [3.00–3.20] | 1.91 | 0.68 |",
		"loss 25.0%", "| UDP 64B, 1 flow | 20.0% / 5.0% | 20.0% / 5.0% | 20.0% / 5.0% | – | – |",
		"bulk add (50 ports, one call)", "ovs-afxdp: skipped: no", "![tcp](tcp.png)",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	for _, f := range []string{"results.json", "tcp.png", "udp.png", "latency.png", "control.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestWriteOVSDefault checks the extra ratio column and the note when
// Open vSwitch with default settings ran, and that sink workloads have rows
// of their own.
func TestWriteOVSDefault(t *testing.T) {
	r := &Results{Started: time.Unix(0, 0).UTC(), Finished: time.Unix(60, 0).UTC(), Reps: 1, DurationSec: 1, Hosts: 3,
		Systems:   []SystemInfo{{Name: SysGvswitchd}, {Name: SysOVS}, {Name: SysOVSDefault}},
		Workloads: AllWorkloads()}
	var plain, sink Workload
	for _, w := range AllWorkloads() {
		switch w.ID {
		case "udp64-1":
			plain = w
		case "udp64-1-sink":
			sink = w
		}
	}
	if !sink.Sink || plain.Sink || sink.Title() == plain.Title() {
		t.Fatalf("sink workload %+v vs %+v", sink, plain)
	}
	for i, sys := range []string{SysGvswitchd, SysOVS, SysOVSDefault} {
		v := float64(3 - i)
		r.record(plain.ID, plain.Title(), plain.Kind, sys, measurement{metrics: map[string]float64{"rx": v}}, nil)
		r.record(sink.ID, sink.Title(), sink.Kind, sys, measurement{metrics: map[string]float64{"rx": 2 * v}}, nil)
		r.record("tcp1", "TCP 1 stream, offloads on", KindTCP, sys, measurement{metrics: map[string]float64{"throughput": v - 1}}, nil)
	}
	var b strings.Builder
	WriteMarkdown(&b, r, nil)
	md := b.String()
	for _, want := range []string{
		"| workload | gvswitchd | ovs | ovs-default | gvswitchd / bridge | gvswitchd / OVS | gvswitchd / OVS default |",
		"| UDP 64B, 1 flow | 3.00 | 2.00 | 1.00 | – | 1.50 | 3.00 |",
		"| UDP 64B, 1 flow, sink receiver | 6.00 | 4.00 | 2.00 | – | 1.50 | 3.00 |",
		"| TCP 1 stream, offloads on | 2.00 | 1.00 | 0.000 | – | 2.00 | – |",
		"TCP did not pass",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
}
