package datapath

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

func TestPipelineFlood(t *testing.T) {
	dp, ports := testDP(t, 3, Options{EMCInsertInvProb: 1})
	h := &floodHandler{dp: dp, mask: l2Mask()}
	dp.SetUpcallHandler(h)

	f := udpFrame(1, 2, 1000, 2000)
	ports[0].Inject(f)
	for _, p := range ports[1:] {
		got := p.WaitSent(1, 5*time.Second)
		if len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("%s got %d frames", p.Name(), len(got))
		}
	}
	if n := len(ports[0].Sent()); n != 0 {
		t.Fatalf("in_port got %d frames back", n)
	}
	// Same L2 flow, different L4 ports: the megaflow (or EMC) hits.
	for i := 0; i < 10; i++ {
		ports[0].Inject(udpFrame(1, 2, 1000+uint16(i), 2000))
	}
	ports[1].WaitSent(11, 5*time.Second)
	s := waitStats(t, dp, "11 lookups", func(s Stats) bool { return s.Hit+s.Missed == 11 })
	if s.Missed != 1 || s.Hit != 10 || s.Flows != 1 || s.Lost != 0 || s.Masks != 1 {
		t.Fatalf("stats %+v", s)
	}
	if h.n() != 1 {
		t.Fatalf("upcalls %d", h.n())
	}
	fl := dp.FlowDump()
	if len(fl) != 1 || fl[0].Stats.Packets != 11 || fl[0].Stats.Bytes != 11*uint64(len(f)) {
		t.Fatalf("dump %+v", fl)
	}
	if fl[0].Key.TpSrc != 0 || fl[0].Key.EthSrc != mac(1) || fl[0].Key.InPort != 1 {
		t.Fatalf("key not masked: %+v", fl[0].Key)
	}
}

func TestNoHandlerCountsLost(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	ports[0].Inject(udpFrame(1, 2, 1, 2), udpFrame(1, 2, 1, 3))
	s := waitStats(t, dp, "lost", func(s Stats) bool { return s.Lost == 2 })
	if s.Missed != 2 || s.Flows != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHandlerErrorAndNoInstall(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	calls := 0
	dp.SetUpcallHandler(UpcallFunc(func(k *FlowKey, _ *packet.Packet) (Actions, Mask, error) {
		calls++
		if k.TpDst == 1 {
			return nil, Mask{}, errors.New("boom")
		}
		return Actions{Output(2)}, ExactMask(), ErrNoInstall
	}))
	ports[0].Inject(udpFrame(1, 2, 1, 1), udpFrame(1, 2, 1, 2), udpFrame(1, 2, 1, 2))
	got := ports[1].WaitSent(2, 5*time.Second)
	s := waitStats(t, dp, "3 misses", func(s Stats) bool { return s.Missed == 3 })
	if len(got) != 2 || s.Lost != 1 || s.Flows != 0 {
		t.Fatalf("sent %d, stats %+v", len(got), s)
	}
}

func TestFlowPutDelInvalidatesEMC(t *testing.T) {
	dp, ports := testDP(t, 3, Options{EMCInsertInvProb: 1})
	var k FlowKey
	f := udpFrame(1, 2, 5, 6)
	ExtractFrame(f, 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	// A second mask: with a single subtable the EMC stays off (emcPolicy).
	var other FlowKey
	ExtractFrame(udpFrame(7, 8, 5, 6), 1, &other)
	om := ExactMask()
	if err := dp.FlowPut(&other, &om, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ports[0].Inject(f)
		ports[1].WaitSent(i+1, 5*time.Second)
	}
	s := waitStats(t, dp, "hits", func(s Stats) bool { return s.Hit == 3 })
	if s.EMCHits != 2 || s.MegaflowHits != 1 {
		t.Fatalf("want 1 megaflow hit then EMC hits: %+v", s)
	}
	// Modify in place: the EMC entry follows the new actions.
	if err := dp.FlowPut(&k, &m, Actions{Output(3)}); err != nil {
		t.Fatal(err)
	}
	ports[0].Inject(f)
	if got := ports[2].WaitSent(1, 5*time.Second); len(got) != 1 {
		t.Fatal("modified flow did not output to port 3")
	}
	// Delete: the EMC entry must die with the flow; the packet becomes a
	// miss and, without a handler, is lost.
	if err := dp.FlowDel(&k, &m); err != nil {
		t.Fatal(err)
	}
	if err := dp.FlowDel(&k, &m); !errors.Is(err, ErrNoSuchFlow) {
		t.Fatalf("second delete: %v", err)
	}
	ports[0].Inject(f)
	s = waitStats(t, dp, "miss after delete", func(s Stats) bool { return s.Missed == 1 })
	if s.Hit != 4 || s.Lost != 1 || s.Flows != 1 || s.Masks != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlowLimit(t *testing.T) {
	dp, ports := testDP(t, 2, Options{FlowLimit: 2})
	h := &floodHandler{dp: dp, mask: ExactMask()}
	dp.SetUpcallHandler(h)
	for i := 0; i < 4; i++ {
		ports[0].Inject(udpFrame(1, 2, 1, uint16(i)))
	}
	got := ports[1].WaitSent(4, 5*time.Second)
	s := waitStats(t, dp, "4 misses", func(s Stats) bool { return s.Missed == 4 })
	if len(got) != 4 || s.Flows != 2 || s.FlowLimitHits != 2 {
		t.Fatalf("sent %d, stats %+v", len(got), s)
	}
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 9), 1, &k)
	m := ExactMask()
	if err := dp.FlowPut(&k, &m, nil); !errors.Is(err, ErrFlowLimit) {
		t.Fatalf("FlowPut over limit: %v", err)
	}
}

// Sweep skips the scan of a classifier while no flow can be stale yet
// (its least recent activity at the last scan is after the cutoff), and
// still expires flows installed since and flows after MaxIdle shrinks.
func TestIdleExpiryAfterSkippedSweeps(t *testing.T) {
	clk := newFakeClock()
	dp, _ := testDP(t, 2, Options{Now: clk.Now, MaxIdle: 10 * time.Second})
	m := l2Mask()
	put := func(src int) {
		var k FlowKey
		ExtractFrame(udpFrame(src, 2, 1, 1), 1, &k)
		if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(want int) {
		t.Helper()
		if n := dp.Sweep(); n != want {
			t.Fatalf("at %v: swept %d, want %d", clk.Now(), n, want)
		}
	}
	put(1) // t=0
	clk.Advance(5 * time.Second)
	sweep(0) // nothing stale: the next scan is due when flow 1 could be
	put(3)   // t=5
	clk.Advance(4 * time.Second)
	sweep(0)
	clk.Advance(2 * time.Second) // t=11
	sweep(1)
	clk.Advance(3 * time.Second) // t=14: flow 3 idle for 9 s
	sweep(0)
	put(4)
	dp.SetMaxIdle(time.Second)
	clk.Advance(2 * time.Second)
	sweep(2)
	if n := dp.Stats().Flows; n != 0 {
		t.Fatalf("%d flows left", n)
	}
}

func TestIdleExpiry(t *testing.T) {
	clk := newFakeClock()
	dp, ports := testDP(t, 2, Options{Now: clk.Now, MaxIdle: 10 * time.Second})
	var k1, k2 FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 1, &k1)
	ExtractFrame(udpFrame(3, 2, 1, 1), 1, &k2)
	m := l2Mask()
	for _, k := range []*FlowKey{&k1, &k2} {
		if err := dp.FlowPut(k, &m, Actions{Output(2)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(6 * time.Second)
	ports[0].Inject(udpFrame(1, 2, 1, 1)) // refresh flow 1
	waitStats(t, dp, "hit", func(s Stats) bool { return s.Hit == 1 })
	if n := dp.Sweep(); n != 0 {
		t.Fatalf("swept %d flows early", n)
	}
	clk.Advance(5 * time.Second)
	if n := dp.Sweep(); n != 1 {
		t.Fatalf("swept %d, want 1 (the unused flow)", n)
	}
	fl := dp.FlowDump()
	if len(fl) != 1 || fl[0].Key.EthSrc != mac(1) {
		t.Fatalf("left %+v", fl)
	}
	clk.Advance(6 * time.Second)
	if n := dp.Sweep(); n != 1 || dp.Stats().Flows != 0 {
		t.Fatalf("swept %d", n)
	}
}

// threeFlowsDP is a datapath with three ports and three L2 flows in on
// port 1 from mac(1), mac(2) and mac(3) to mac(9), each output to port 2.
func threeFlowsDP(t *testing.T) *Datapath {
	t.Helper()
	dp, _ := testDP(t, 3, Options{})
	m := l2Mask()
	for i := 1; i <= 3; i++ {
		var k FlowKey
		ExtractFrame(udpFrame(i, 9, 1, 1), 1, &k)
		if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
			t.Fatal(err)
		}
	}
	return dp
}

func TestRevalidate(t *testing.T) {
	dp := threeFlowsDP(t)
	mod, del := dp.Revalidate(func(f *FlowEntry) (Actions, bool) {
		switch f.Key.EthSrc {
		case mac(1):
			return f.Actions, true
		case mac(2):
			return Actions{Output(3)}, true
		}
		return nil, false
	})
	if mod != 1 || del != 1 {
		t.Fatalf("modified %d deleted %d", mod, del)
	}
	fl := dp.FlowDump()
	if len(fl) != 2 || fl[1].Actions.String() != "3" {
		t.Fatalf("dump %+v", fl)
	}
}

func TestPorts(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	if _, err := dp.AddPort("p1", ports[0], 0); !errors.Is(err, ErrPortExists) {
		t.Fatalf("dup name: %v", err)
	}
	if _, err := dp.AddPort("x", ports[0], 2); !errors.Is(err, ErrPortExists) {
		t.Fatalf("dup number: %v", err)
	}
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 2, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(1)}); err != nil {
		t.Fatal(err)
	}
	if err := dp.DelPort(2); err != nil {
		t.Fatal(err)
	}
	if err := dp.DelPort(2); !errors.Is(err, ErrNoSuchPort) {
		t.Fatalf("second DelPort: %v", err)
	}
	if s := dp.Stats(); s.Flows != 0 {
		t.Fatalf("flows of deleted port left: %+v", s)
	}
	if ps := dp.Ports(); len(ps) != 1 || ps[0].No != 1 {
		t.Fatalf("ports %+v", ps)
	}
	if err := dp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := dp.AddPort("p9", ports[0], 0); !errors.Is(err, ErrDatapathClosed) {
		t.Fatalf("AddPort after Close: %v", err)
	}
}

func TestVLANActionsMultiOutput(t *testing.T) {
	dp, ports := testDP(t, 4, Options{})
	in := udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 10})
	untagged := udpFrame(1, 2, 1, 1)
	v20 := udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 20})
	qinq := udpFrame(1, 2, 1, 1, pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10})
	var k FlowKey
	ExtractFrame(in, 1, &k)
	m := l2Mask()
	acts := Actions{
		Output(2),                 // as received, tagged 10
		PushVLAN(0x88a8, 100),     // S-tag 100 over C-tag 10
		Output(3),                 //
		PopVLAN(), SetVLAN(20, 0), // back to one tag, VID 20
		Output(4),
		PopVLAN(), Output(4), // untagged, same port
	}
	if err := dp.FlowPut(&k, &m, acts); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ports[0].Inject(in)
	}
	want := map[int][][]byte{1: {in}, 2: {qinq}, 3: {v20, untagged}}
	for pi, frames := range want {
		got := ports[pi].WaitSent(3*len(frames), 5*time.Second)
		if len(got) != 3*len(frames) {
			t.Fatalf("port %d got %d frames", pi+1, len(got))
		}
		for _, g := range got {
			ok := false
			for _, w := range frames {
				ok = ok || bytes.Equal(g, w)
			}
			if !ok {
				t.Errorf("port %d: unexpected frame %x", pi+1, g)
			}
		}
	}
}

func TestExecute(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	f := udpFrame(1, 2, 1, 1)
	if err := dp.Execute(packet.FromFrame(f), Actions{PushVLAN(0x8100, 5), Output(2)}); err != nil {
		t.Fatal(err)
	}
	got := ports[1].WaitSent(1, time.Second)
	if len(got) != 1 || !bytes.Equal(got[0], udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 5})) {
		t.Fatalf("got %x", got)
	}
	if err := dp.Execute(packet.FromFrame(f), Actions{Output(7)}); err == nil {
		t.Fatal("output to a missing port did not fail")
	}
}

func TestPMDStats(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	dp.SetUpcallHandler(&floodHandler{dp: dp, mask: l2Mask()})
	for i := 0; i < 5; i++ {
		ports[0].Inject(udpFrame(1, 2, 1, uint16(i)))
	}
	ports[1].WaitSent(5, 5*time.Second)
	waitStats(t, dp, "5 lookups", func(s Stats) bool { return s.Hit+s.Missed == 5 })
	ps := dp.PMDStats()
	if len(ps) != 2 || ps[0].Port != "p1" || ps[0].Packets != 5 || ps[0].UpcallOK != 1 ||
		ps[0].MegaflowHits+ps[0].EMCHits != 4 || ps[0].SentPackets != 5 || ps[1].Packets != 0 {
		t.Fatalf("pmd stats %+v", ps)
	}
	var b strings.Builder
	if err := dp.WritePMDStats(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pmd thread port p1 (1):\n", "  packets received: 5\n",
		"  miss with success upcall: 1\n", "  miss with failed upcall: 0\n", "pmd thread port p2 (2):\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	dp.ClearPMDStats()
	if ps := dp.PMDStats(); ps[0].Packets != 0 || ps[0].UpcallOK != 0 {
		t.Fatalf("after clear %+v", ps[0])
	}
}

func TestFlowGetAndLookup(t *testing.T) {
	dp, _ := testDP(t, 2, Options{})
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 3, 4), 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	e, err := dp.FlowGet(&k, &m)
	if err != nil || e.Actions.String() != "2" {
		t.Fatalf("FlowGet: %+v, %v", e, err)
	}
	other := ExactMask()
	if _, err := dp.FlowGet(&k, &other); !errors.Is(err, ErrNoSuchFlow) {
		t.Fatalf("FlowGet with another mask: %v", err)
	}
	var k2 FlowKey
	ExtractFrame(udpFrame(1, 2, 99, 98), 1, &k2) // same L2, other L4
	if e, ok := dp.Lookup(&k2); !ok || e.Key.EthSrc != mac(1) {
		t.Fatalf("Lookup: %+v %v", e, ok)
	}
	k2.InPort = 2
	if _, ok := dp.Lookup(&k2); ok {
		t.Fatal("Lookup hit on another in_port")
	}
}

func TestRuntimeTunables(t *testing.T) {
	clk := newFakeClock()
	dp, ports := testDP(t, 2, Options{Now: clk.Now, EMCInsertInvProb: 1})
	m, om := l2Mask(), ExactMask()
	var k, other FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 1, &k)
	ExtractFrame(udpFrame(7, 8, 1, 1), 1, &other)
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	dp.SetFlowLimit(1)
	if err := dp.FlowPut(&other, &om, nil); !errors.Is(err, ErrFlowLimit) {
		t.Fatalf("FlowPut over a lowered limit: %v", err)
	}
	dp.SetFlowLimit(0) // back to the default
	if err := dp.FlowPut(&other, &om, nil); err != nil {
		t.Fatal(err)
	}
	// Two masks: the EMC works; after SetEMCInsertInvProb(0) it is off.
	f := udpFrame(1, 2, 1, 1)
	for i := 0; i < 3; i++ {
		ports[0].Inject(f)
		ports[1].WaitSent(i+1, 5*time.Second)
	}
	s := waitStats(t, dp, "3 hits", func(s Stats) bool { return s.Hit == 3 })
	if s.EMCHits != 2 {
		t.Fatalf("EMC hits %d", s.EMCHits)
	}
	dp.SetEMCInsertInvProb(0)
	for i := 0; i < 3; i++ {
		ports[0].Inject(f)
		ports[1].WaitSent(4+i, 5*time.Second)
	}
	s = waitStats(t, dp, "6 hits", func(s Stats) bool { return s.Hit == 6 })
	if s.EMCHits != 2 || s.MegaflowHits != 4 {
		t.Fatalf("EMC still used: %+v", s)
	}
	dp.SetMaxIdle(time.Second)
	clk.Advance(2 * time.Second)
	if n := dp.Sweep(); n != 2 {
		t.Fatalf("swept %d", n)
	}
}

// flakyPort fails every Recv and Send with a non-closed error until closed.
type flakyPort struct {
	dummyClosed chan struct{}
}

func (p *flakyPort) Name() string { return "flaky" }
func (p *flakyPort) Recv(b *packet.Batch) error {
	b.Reset()
	select {
	case <-p.dummyClosed:
		return netdev.ErrClosed
	default:
		return errors.New("device went away")
	}
}
func (p *flakyPort) Send(*packet.Batch) error { return errors.New("device went away") }
func (p *flakyPort) BatchSize() int           { return packet.BatchSize }
func (p *flakyPort) Stats() netdev.Stats      { return netdev.Stats{} }
func (p *flakyPort) Close() error             { close(p.dummyClosed); return nil }

func TestFailingPort(t *testing.T) {
	dp, ports := testDP(t, 1, Options{})
	fp := &flakyPort{dummyClosed: make(chan struct{})}
	no, err := dp.AddPort("flaky", fp, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Recv failures are counted and retried (after a short backoff).
	waitStats(t, dp, "rx errors", func(s Stats) bool { return s.RxErrors >= 2 })
	var k FlowKey
	f := udpFrame(1, 2, 3, 4)
	ExtractFrame(f, 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(no)}); err != nil {
		t.Fatal(err)
	}
	ports[0].Inject(f)
	waitStats(t, dp, "tx error", func(s Stats) bool { return s.TxErrors == 1 })
	if err := dp.DelPort(no); err != nil {
		t.Fatal(err)
	}
}

// The keys RevalidateUnless and RevalidateWhere hand out, rebuilt from the
// flow's packed words for narrow masks and the stored key for wide ones,
// are the flows' masked keys.
func TestRevalidateKeysAreMaskedKeys(t *testing.T) {
	dp := threeFlowsDP(t) // l2Mask: packed
	m := ExactMask()      // too wide to pack
	for i := 4; i <= 5; i++ {
		var k FlowKey
		ExtractFrame(udpFrame(i, 9, 1, 1), 1, &k)
		if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
			t.Fatal(err)
		}
	}
	want := make(map[FlowKey]bool)
	for _, e := range dp.FlowDump() {
		want[e.Key] = true
	}
	for name, run := range map[string]func(see func(*FlowKey)){
		"unless": func(see func(*FlowKey)) {
			dp.RevalidateUnless(func(_, _ int64, k *FlowKey) bool { see(k); return true }, nil)
		},
		"where": func(see func(*FlowKey)) {
			dp.RevalidateWhere(func(k *FlowKey) bool { see(k); return false }, nil)
		},
	} {
		got := make(map[FlowKey]bool)
		run(func(k *FlowKey) { got[*k] = true })
		if !maps.Equal(got, want) {
			t.Errorf("%s: keys %v, want %v", name, got, want)
		}
	}
}

// RevalidateUnless hands skip each flow's times and key before building an
// entry, and calls fn only for the flows skip does not pass over.
func TestRevalidateUnless(t *testing.T) {
	dp := threeFlowsDP(t)
	var seen int
	mod, del := dp.RevalidateUnless(func(created, used int64, key *FlowKey) bool {
		seen++
		if created == 0 || used != 0 {
			t.Errorf("flow %v: created %d used %d, want set and never hit", key.EthSrc, created, used)
		}
		return key.EthSrc == mac(1)
	}, func(f *FlowEntry) (Actions, bool) {
		if f.Key.EthSrc == mac(1) {
			t.Errorf("fn called for a skipped flow")
		}
		return f.Actions, f.Key.EthSrc != mac(2)
	})
	if seen != 3 || mod != 0 || del != 1 {
		t.Fatalf("seen %d modified %d deleted %d", seen, mod, del)
	}
	if n := len(dp.FlowDump()); n != 2 {
		t.Fatalf("%d flows left, want 2", n)
	}
}
