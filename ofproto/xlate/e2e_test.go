package xlate

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/internal/pkttest"
	"github.com/gvswitch/gvswitch/vlan"
)

// e2e is a datapath with dummy ports wired to a translator.
type e2e struct {
	t     *testing.T
	dp    *datapath.Datapath
	x     *Xlate
	ports map[uint32]*dummy.Port // by datapath port
}

// newE2E attaches one dummy port per port of cfg's bridges (by DPPort),
// registers the translator and runs its revalidator.
func newE2E(t *testing.T, cfg *Config) *e2e { return newE2EClock(t, cfg, nil) }

// newE2EClock is newE2E with the datapath and the MAC tables on clk.
func newE2EClock(t *testing.T, cfg *Config, clk *fakeClock) *e2e {
	t.Helper()
	opts := datapath.Options{SweepInterval: -1}
	x := New()
	if clk != nil {
		opts.Now = clk.Now
		x = New(WithClock(clk.Now))
	}
	dp, err := datapath.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	e := &e2e{t: t, dp: dp, x: x, ports: make(map[uint32]*dummy.Port)}
	for _, b := range cfg.Bridges {
		for _, p := range b.Ports {
			if p.Patch != "" {
				continue
			}
			d := dummy.New(p.Name)
			if _, err := dp.AddPort(p.Name, d, p.DPPort); err != nil {
				t.Fatal(err)
			}
			e.ports[p.DPPort] = d
		}
	}
	e.x.Publish(cfg)
	dp.SetUpcallHandler(e.x)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.x.RunRevalidator(ctx, dp, 20*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func e2eFrame(src, dst [6]byte, vids ...uint16) []byte {
	var vl []pkttest.VLAN
	for _, v := range vids {
		vl = append(vl, pkttest.VLAN{VID: v})
	}
	return pkttest.UDP4(pkttest.Eth{Src: src, Dst: dst, VLANs: vl},
		pkttest.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		pkttest.UDP{Src: 1000, Dst: 2000, Payload: []byte("gvswitch")})
}

// send injects frame on port in and returns, per datapath port, the frames
// that came out. It waits until the datapath has counted the packet (a hit
// or a miss; counters are updated after the packet's outputs are sent) and
// then checks that exactly the ports in want got a copy.
func (e *e2e) send(in uint32, frame []byte, want ...uint32) map[uint32][]byte {
	e.t.Helper()
	for _, p := range e.ports {
		p.TakeSent()
	}
	processed := func() uint64 { s := e.dp.Stats(); return s.Hit + s.Missed }
	before := processed()
	e.ports[in].Inject(frame)
	deadline := time.Now().Add(5 * time.Second)
	for processed() == before {
		if time.Now().After(deadline) {
			e.t.Fatal("frame not processed by the datapath")
		}
		time.Sleep(time.Millisecond)
	}
	out := make(map[uint32][]byte)
	for _, no := range want {
		got := e.ports[no].WaitSent(1, 5*time.Second)
		if len(got) == 0 {
			e.t.Fatalf("no frame out of port %d (flows:\n%s)", no, e.flows())
		}
		out[no] = got[0]
	}
	for no, p := range e.ports {
		if _, ok := out[no]; ok {
			continue
		}
		if s := p.TakeSent(); len(s) > 0 {
			e.t.Fatalf("unexpected frame out of port %d (flows:\n%s)", no, e.flows())
		}
	}
	return out
}

func (e *e2e) flows() string {
	var b strings.Builder
	for _, f := range e.dp.FlowDump() {
		fmt.Fprintf(&b, "in_port=%d src=%x dst=%x vlan=%#x actions=%s\n", f.Key.InPort, f.Key.EthSrc, f.Key.EthDst, f.Key.VLAN[0].TCI, f.Actions)
	}
	return b.String()
}

// waitFlow polls the flow table until a flow from in_port with dst MAC has
// actions acts (revalidation is asynchronous).
func (e *e2e) waitFlow(in uint32, dst [6]byte, acts string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := false
		for _, f := range e.dp.FlowDump() {
			if f.Key.InPort == in && f.Key.EthDst == dst && f.Actions.String() == acts {
				ok = true
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no flow in_port=%d dst=%x with actions %s:\n%s", in, dst, acts, e.flows())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func outerVID(t *testing.T, frame []byte) (uint16, int) {
	t.Helper()
	tags, n, _, ok := vlan.Parse(frame)
	if !ok {
		t.Fatalf("unparsable frame %x", frame)
	}
	if n == 0 {
		return 0, 0
	}
	return tags[0].VID(), n
}

func TestEndToEndSwitching(t *testing.T) {
	cfg := config(bridge("br0",
		ps{name: "e1", of: 1, dp: 1},
		ps{name: "e2", of: 2, dp: 2},
		ps{name: "e3", of: 3, dp: 3, mode: Access, tag: 10},
		ps{name: "e4", of: 4, dp: 4, mode: Access, tag: 10},
	))
	e := newE2E(t, cfg)
	a, b, c := mac(0xa), mac(0xb), mac(0xc)

	// Broadcast from trunk e1 (VLAN 0) reaches only the other VLAN 0 port.
	e.send(1, e2eFrame(a, bcast), 2)
	// VLAN 10 from e1 reaches the access ports untagged.
	out := e.send(1, e2eFrame(a, bcast, 10), 2, 3, 4)
	if _, n := outerVID(t, out[3]); n != 0 {
		t.Fatal("access port got a tagged frame")
	}
	// e3's reply to a (learned in VLAN 10 on e1) is unicast and tagged.
	out = e.send(3, e2eFrame(c, a), 1)
	if vid, n := outerVID(t, out[1]); n != 1 || vid != 10 {
		t.Fatalf("trunk got VLAN %d (%d tags)", vid, n)
	}
	// A tagged frame on an access port is dropped.
	e.send(3, e2eFrame(c, a, 10))
	// b on e2 talks to a in VLAN 0: unicast to e1 (a was learned in VLAN
	// 0 by the first broadcast).
	e.send(2, e2eFrame(b, a), 1)
	// The frame is now a megaflow hit: same result without an upcall.
	e.send(2, e2eFrame(b, a), 1)
	// Counters are updated after the batch is sent: poll.
	deadline := time.Now().Add(5 * time.Second)
	for e.dp.Stats().Hit == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no datapath hits: %+v", e.dp.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEndToEndRevalidation(t *testing.T) {
	cfg := func(e2tag uint16) *Config {
		mode := Trunk
		if e2tag != 0 {
			mode = Access
		}
		return config(bridge("br0",
			ps{name: "r1", of: 1, dp: 1},
			ps{name: "r2", of: 2, dp: 2, mode: mode, tag: e2tag},
			ps{name: "r3", of: 3, dp: 3},
			ps{name: "r4", of: 4, dp: 4, mode: Access, tag: 5},
		))
	}
	e := newE2E(t, cfg(0))
	a, b := mac(0xa), mac(0xb)
	e.send(1, e2eFrame(a, bcast), 2, 3)
	e.send(2, e2eFrame(b, a), 1)
	e.waitFlow(2, a, "1")

	// a moves to r3: the installed b->a flow must follow it.
	e.send(3, e2eFrame(a, bcast), 1, 2)
	e.waitFlow(2, a, "3")
	e.send(2, e2eFrame(b, a), 3)

	// r2 becomes an access port in VLAN 5: b's frames are now in VLAN 5,
	// where a is unknown: flooded, tagged on the trunks, untagged on r4.
	e.x.Publish(cfg(5))
	e.waitFlow(2, a, "push_vlan(vid=5,pcp=0),1,3,pop_vlan,4")
	out := e.send(2, e2eFrame(b, a), 1, 3, 4)
	for no, want := range map[uint32]int{1: 1, 3: 1, 4: 0} {
		if vid, n := outerVID(t, out[no]); n != want || (n == 1 && vid != 5) {
			t.Fatalf("port %d: VLAN %d with %d tags", no, vid, n)
		}
	}

	// r3 is deleted: a's entry goes with it and frames to a flood VLAN 0.
	c := cfg(0)
	delete(c.Bridges["br0"].Ports, 3)
	if err := e.dp.DelPort(3); err != nil {
		t.Fatal(err)
	}
	delete(e.ports, 3)
	e.x.Publish(c)
	e.waitFlow(2, a, "1")
	e.send(2, e2eFrame(b, a), 1)
}

func TestEndToEndPatch(t *testing.T) {
	br0 := bridge("br0", ps{name: "x1", of: 1, dp: 1, mode: Access, tag: 7}, ps{name: "pa", of: 2, patch: "pb"})
	br1 := bridge("br1", ps{name: "x2", of: 1, dp: 2}, ps{name: "pb", of: 2, patch: "pa"})
	e := newE2E(t, config(br0, br1))
	a, b := mac(0xa), mac(0xb)
	// An access frame in VLAN 7 crosses the patch and leaves br1's trunk tagged.
	out := e.send(1, e2eFrame(a, bcast), 2)
	if vid, n := outerVID(t, out[2]); n != 1 || vid != 7 {
		t.Fatalf("br1 trunk got VLAN %d (%d tags)", vid, n)
	}
	// The tagged reply comes back untagged, unicast (a learned in both bridges).
	out = e.send(2, e2eFrame(b, a, 7), 1)
	if _, n := outerVID(t, out[1]); n != 0 {
		t.Fatal("access port got a tagged frame")
	}
	// Other VLANs do not cross into the access port.
	e.send(2, e2eFrame(b, a, 8))
}

func TestEndToEndAging(t *testing.T) {
	clk := newClock()
	e := newE2EClock(t, config(bridge("br0",
		ps{name: "g1", of: 1, dp: 1}, ps{name: "g2", of: 2, dp: 2}, ps{name: "g3", of: 3, dp: 3},
	)), clk)
	a, b := mac(0xa), mac(0xb)
	e.send(1, e2eFrame(a, bcast), 2, 3)
	e.send(2, e2eFrame(b, a), 1)
	e.waitFlow(2, a, "1")
	// b keeps talking (its flow is used), a falls silent past the aging
	// time: a's entry expires, b's is refreshed from flow statistics, and
	// the b->a flow turns back into a flood.
	for i := 0; i < 2; i++ {
		clk.Advance(100 * time.Second)
		e.send(2, e2eFrame(b, a), 1) // t=100 s, 200 s: a is still known
	}
	clk.Advance(150 * time.Second) // t=350 s: a expires at the next tick
	e.waitFlow(2, a, "1,3")
	e.send(2, e2eFrame(b, a), 1, 3)
	if _, ok := e.x.MACTable("br0").Lookup(0, b); !ok {
		t.Fatal("b aged out although its flow was in use")
	}
}
