package xlate

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
)

// fakeClock is a manually advanced clock for aging tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ps describes a test port; dp defaults to of.
type ps struct {
	name   string
	of, dp uint32
	mode   VLANMode
	tag    uint16
	trunks []int
	cvlans []int
	patch  string
	down   bool
}

func (p ps) port() *Port {
	dp := p.dp
	if dp == 0 {
		dp = p.of
	}
	return &Port{Name: p.name, OFPort: p.of, DPPort: dp, VLANMode: p.mode, Tag: p.tag,
		Trunks: NewVLANSet(p.trunks...), CVLANs: NewVLANSet(p.cvlans...), Patch: p.patch, Down: p.down}
}

func bridge(name string, ports ...ps) *Bridge {
	b := &Bridge{Name: name, Ports: make(map[uint32]*Port)}
	for _, p := range ports {
		b.Ports[p.of] = p.port()
	}
	return b
}

func config(bs ...*Bridge) *Config {
	c := &Config{Bridges: make(map[string]*Bridge)}
	for _, b := range bs {
		c.Bridges[b.Name] = b
	}
	return c
}

func newX(t testing.TB, clk *fakeClock, cfg *Config) *Xlate {
	t.Helper()
	var x *Xlate
	if clk != nil {
		x = New(WithClock(clk.Now))
	} else {
		x = New()
	}
	x.Publish(cfg)
	return x
}

func mac(i int) [6]byte { return [6]byte{0x50, 0x54, 0, 0, 0, byte(i)} }

var bcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// tags parses a compact tag list: "-" untagged, "10" an 802.1Q tag,
// "s10" an 802.1ad tag, "0p3" VID 0 with PCP 3, joined by ':' outer first.
func tags(s string) []datapath.VLANTag {
	if s == "-" || s == "" {
		return nil
	}
	var out []datapath.VLANTag
	for _, f := range strings.Split(s, ":") {
		tpid := datapath.EthTypeVLAN
		if strings.HasPrefix(f, "s") {
			tpid, f = datapath.EthTypeQinQ, f[1:]
		}
		var vid, pcp uint16
		if v, p, ok := strings.Cut(f, "p"); ok {
			fmt.Sscan(v, &vid)
			fmt.Sscan(p, &pcp)
		} else {
			fmt.Sscan(f, &vid)
		}
		out = append(out, datapath.VLANTag{TPID: tpid, TCI: pcp<<13 | vid})
	}
	return out
}

func fmtTags(ts []datapath.VLANTag) string {
	if len(ts) == 0 {
		return "-"
	}
	var f []string
	for _, t := range ts {
		s := fmt.Sprint(t.VID())
		if t.TPID == datapath.EthTypeQinQ {
			s = "s" + s
		}
		if t.PCP() != 0 {
			s += fmt.Sprintf("p%d", t.PCP())
		}
		f = append(f, s)
	}
	return strings.Join(f, ":")
}

// key builds a flow key for a frame entering datapath port in.
func key(in uint32, src, dst [6]byte, tagSpec string) *datapath.FlowKey {
	k := &datapath.FlowKey{InPort: in, EthSrc: src, EthDst: dst, EthType: datapath.EthTypeIPv4}
	for i, t := range tags(tagSpec) {
		if i < 2 {
			k.VLAN[i] = t
		}
	}
	return k
}

// simulate applies actions to a frame with tagSpec and returns, per output
// datapath port, the tags the frame leaves with.
func simulate(t testing.TB, tagSpec string, acts datapath.Actions) map[uint32]string {
	t.Helper()
	cur := tags(tagSpec)
	out := make(map[uint32]string)
	for _, a := range acts {
		switch a.Kind {
		case datapath.ActOutput:
			if _, dup := out[a.Port]; dup {
				t.Fatalf("port %d output twice in %s", a.Port, acts)
			}
			out[a.Port] = fmtTags(cur)
		case datapath.ActPushVLAN:
			cur = append([]datapath.VLANTag{{TPID: a.TPID, TCI: a.TCI}}, cur...)
		case datapath.ActPopVLAN:
			if len(cur) == 0 {
				t.Fatalf("pop_vlan on an untagged frame in %s", acts)
			}
			cur = cur[1:]
		default:
			t.Fatalf("unexpected action %v", a)
		}
	}
	return out
}

// upcall runs an upcall and fails on error.
func upcall(t testing.TB, x *Xlate, k *datapath.FlowKey) (datapath.Actions, datapath.Mask) {
	t.Helper()
	acts, m, err := x.Upcall(k, nil)
	if err != nil {
		t.Fatalf("upcall: %v", err)
	}
	return acts, m
}

// installed turns an upcall result into the FlowEntry the datapath would
// keep (key masked by mask).
func installed(k *datapath.FlowKey, acts datapath.Actions, m datapath.Mask, used time.Time) *datapath.FlowEntry {
	return &datapath.FlowEntry{Key: k.Masked(&m), Mask: m, Actions: acts, Stats: datapath.FlowStats{Used: used}}
}
