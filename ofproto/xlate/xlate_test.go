package xlate

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
)

func TestAgingWithFakeClock(t *testing.T) {
	clk := newClock()
	cfg := threePorts()
	cfg.Bridges["br0"].MACAgingTime = 20 * time.Second
	x := newX(t, clk, cfg)
	upcall(t, x, key(11, mac(1), bcast, "-"))
	clk.Advance(19 * time.Second)
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "-")); acts.String() != "11" {
		t.Fatalf("before aging: %s", acts)
	}
	if n := x.Expire(); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	clk.Advance(time.Second)
	if n := x.Expire(); n != 1 {
		t.Fatalf("expired %d, want 1 (mac(1))", n)
	}
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "-")); acts.String() != "11,13,10" {
		t.Fatalf("after aging: %s", acts)
	}
	// Aging times are clamped like OVS's (15 s minimum).
	cfg2 := threePorts()
	cfg2.Bridges["br0"].MACAgingTime = time.Second
	x.Publish(cfg2)
	upcall(t, x, key(11, mac(1), bcast, "-"))
	clk.Advance(14 * time.Second)
	if _, ok := x.MACTable("br0").Lookup(0, mac(1)); !ok {
		t.Fatal("aging time below 15 s not clamped")
	}
}

func TestStatsRefreshKeepsMACAlive(t *testing.T) {
	clk := newClock()
	cfg := threePorts()
	cfg.Bridges["br0"].MACAgingTime = 30 * time.Second
	x := newX(t, clk, cfg)
	k := key(11, mac(1), mac(2), "-")
	acts, m := upcall(t, x, k)
	fe := installed(k, acts, m, time.Time{})
	for i := 0; i < 5; i++ {
		clk.Advance(20 * time.Second)
		fe.Stats.Used = clk.Now().Add(-time.Second) // the flow keeps forwarding in the fast path
		if _, keep := x.RevalidateFlow(fe); !keep {
			t.Fatal("flow deleted")
		}
		x.Expire()
	}
	if _, ok := x.MACTable("br0").Lookup(0, mac(1)); !ok {
		t.Fatal("MAC of an active flow aged out")
	}
	// Once the flow is idle the MAC ages.
	clk.Advance(31 * time.Second)
	x.RevalidateFlow(fe)
	x.Expire()
	if _, ok := x.MACTable("br0").Lookup(0, mac(1)); ok {
		t.Fatal("MAC of an idle flow did not age")
	}
}

func TestTableOverflowEvictsLRU(t *testing.T) {
	cfg := threePorts()
	cfg.Bridges["br0"].MACTableSize = 10 // OVS's minimum
	clk := newClock()
	x := newX(t, clk, cfg)
	for i := 1; i <= 11; i++ {
		upcall(t, x, key(11, mac(i), bcast, "-"))
		clk.Advance(2 * time.Second)
	}
	tb := x.MACTable("br0")
	if tb.Len() != 10 {
		t.Fatalf("table holds %d entries, limit 10", tb.Len())
	}
	if _, ok := tb.Lookup(0, mac(1)); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if s := tb.Stats(); s.Evicted != 1 || s.Learned != 11 {
		t.Fatalf("stats %+v", s)
	}
	// mac(1) is unknown again: flood.
	if acts, _ := upcall(t, x, key(12, mac(50), mac(1), "-")); acts.String() != "11,13,10" {
		t.Fatalf("evicted destination: %s", acts)
	}
}

func TestPublishFlushesChangedPorts(t *testing.T) {
	x := newX(t, nil, threePorts())
	for i := 1; i <= 3; i++ {
		upcall(t, x, key(uint32(10+i), mac(i), bcast, "-"))
	}
	cfg := threePorts()
	delete(cfg.Bridges["br0"].Ports, 2)           // p2 deleted
	cfg.Bridges["br0"].Ports[3].VLANMode = Access // p3 becomes access VLAN 5
	cfg.Bridges["br0"].Ports[3].Tag = 5
	x.Publish(cfg)
	tb := x.MACTable("br0")
	if _, ok := tb.Lookup(0, mac(1)); !ok {
		t.Fatal("unchanged port's MAC flushed")
	}
	for _, i := range []int{2, 3} {
		if _, ok := tb.Lookup(0, mac(i)); ok {
			t.Fatalf("MAC on changed port %d kept", i)
		}
	}
	// A bridge that goes away loses its table; one that comes back
	// starts empty.
	x.Publish(config())
	if x.MACTable("br0") != nil {
		t.Fatal("table of a deleted bridge kept")
	}
	x.Publish(threePorts())
	if x.MACTable("br0").Len() != 0 {
		t.Fatal("recreated bridge kept old MACs")
	}
}

func patchConfig() *Config {
	br0 := bridge("br0",
		ps{name: "p1", of: 1, dp: 1},
		ps{name: "a10", of: 2, dp: 2, mode: Access, tag: 10},
		ps{name: "patch0", of: 3, patch: "patch1"},
	)
	br1 := bridge("br1",
		ps{name: "q1", of: 1, dp: 5},
		ps{name: "patch1", of: 2, patch: "patch0"},
		ps{name: "br1", of: LocalPort, dp: 101},
	)
	return config(br0, br1)
}

func TestPatchPorts(t *testing.T) {
	x := newX(t, nil, patchConfig())
	// Broadcast from br0/p1 floods br0 and, through the patch, br1.
	acts, _ := upcall(t, x, key(1, mac(1), bcast, "-"))
	if acts.String() != "5,101" {
		t.Fatalf("flood across patch = %s", acts)
	}
	if p, ok := x.MACTable("br1").Lookup(0, mac(1)); !ok || p != 2 {
		t.Fatalf("br1 learned mac(1) on %d,%v, want patch1 (2)", p, ok)
	}
	// The reply from br1/q1 goes back through the patch to br0/p1.
	if acts, _ := upcall(t, x, key(5, mac(5), mac(1), "-")); acts.String() != "1" {
		t.Fatalf("reply across patch = %s", acts)
	}
	// VLAN 10 from the access port crosses tagged and floods br1's trunks.
	acts, _ = upcall(t, x, key(2, mac(2), bcast, "-"))
	if acts.String() != "push_vlan(vid=10,pcp=0),1,5,101" {
		t.Fatalf("VLAN 10 across patch = %s", acts)
	}
	// Tagged VLAN 10 from br1 reaches the access port untagged.
	acts, _ = upcall(t, x, key(5, mac(5), mac(2), "10"))
	if got := simulate(t, "10", acts); got[2] != "-" || len(got) != 1 {
		t.Fatalf("VLAN 10 back across patch: %v (%s)", got, acts)
	}
	// A one-sided patch port goes nowhere.
	cfg := patchConfig()
	cfg.Bridges["br1"].Ports[2].Patch = "elsewhere"
	x.Publish(cfg)
	if acts, _ := upcall(t, x, key(1, mac(1), bcast, "-")); len(acts) != 0 {
		t.Fatalf("unpaired patch forwarded: %s", acts)
	}
}

func TestPatchLoopTerminates(t *testing.T) {
	br0 := bridge("br0", ps{name: "p1", of: 1, dp: 1},
		ps{name: "a0", of: 2, patch: "b0"}, ps{name: "c0", of: 3, patch: "d0"}, ps{name: "e0", of: 4, patch: "f0"})
	br1 := bridge("br1", ps{name: "b0", of: 1, patch: "a0"}, ps{name: "d0", of: 2, patch: "c0"}, ps{name: "f0", of: 3, patch: "e0"})
	x := newX(t, nil, config(br0, br1))
	done := make(chan datapath.Actions)
	go func() {
		acts, _, _ := x.Upcall(key(1, mac(1), bcast, "-"), nil)
		done <- acts
	}()
	select {
	case acts := <-done:
		if len(acts) != 0 {
			t.Fatalf("looping flood produced actions: %d", len(acts))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("patch loop did not terminate")
	}
	out, err := x.Trace("br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff")
	if err != nil || !strings.Contains(out, "Datapath actions: drop") {
		t.Fatalf("trace of a loop: %v\n%s", err, out[max(0, len(out)-300):])
	}
}

func TestRevalidateFlow(t *testing.T) {
	x := newX(t, nil, threePorts())
	upcall(t, x, key(12, mac(2), bcast, "-"))
	k := key(11, mac(1), mac(2), "-")
	acts, m := upcall(t, x, k)
	fe := installed(k, acts, m, time.Time{})
	if a, keep := x.RevalidateFlow(fe); !keep || a.String() != "12" {
		t.Fatalf("unchanged: %s %v", a, keep)
	}
	// p2 becomes an access port in VLAN 9: the untagged flow can no
	// longer reach it; mac(2) was flushed, so the flow floods.
	cfg := threePorts()
	cfg.Bridges["br0"].Ports[2].VLANMode, cfg.Bridges["br0"].Ports[2].Tag = Access, 9
	x.Publish(cfg)
	if a, keep := x.RevalidateFlow(fe); !keep || a.String() != "13,10" {
		t.Fatalf("after tag change: %s %v", a, keep)
	}
	// The input port is deleted: the flow's mask no longer applies.
	cfg = threePorts()
	delete(cfg.Bridges["br0"].Ports, 1)
	x.Publish(cfg)
	if a, keep := x.RevalidateFlow(fe); keep {
		t.Fatalf("flow from a deleted port kept with %s", a)
	}
}

// fakeDP runs revalidation over a fixed flow list.
type fakeDP struct {
	mu     sync.Mutex
	flows  []*datapath.FlowEntry
	passes int
}

func (d *fakeDP) Revalidate(fn datapath.RevalidateFunc) (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.passes++
	var keep []*datapath.FlowEntry
	mod, del := 0, 0
	for _, f := range d.flows {
		a, ok := fn(f)
		if !ok {
			del++
			continue
		}
		if a.String() != f.Actions.String() {
			f.Actions = a
			mod++
		}
		keep = append(keep, f)
	}
	d.flows = keep
	return mod, del
}

// whereDP is a fakeDP with RevalidateWhere, counting the flows each kind
// of pass visits.
type whereDP struct {
	fakeDP
	fullPasses, whereVisited int
}

func (d *whereDP) Revalidate(fn datapath.RevalidateFunc) (int, int) {
	d.mu.Lock()
	d.fullPasses++
	d.mu.Unlock()
	return d.fakeDP.Revalidate(fn)
}

func (d *whereDP) RevalidateWhere(match func(*datapath.FlowKey) bool, fn datapath.RevalidateFunc) (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mod := 0
	for _, f := range d.flows {
		if !match(&f.Key) {
			continue
		}
		d.whereVisited++
		if a, _ := fn(f); a.String() != f.Actions.String() {
			f.Actions = a
			mod++
		}
	}
	return mod, 0
}

func (d *whereDP) counts() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fullPasses, d.whereVisited
}

// TestRevalidateIncremental: after a Publish every flow is revalidated;
// after MAC learning only the flows to the changed destinations are.
func TestRevalidateIncremental(t *testing.T) {
	x := newX(t, nil, threePorts())
	dp := &whereDP{}
	// 50 flows from port 11 to unknown mac(2) (flooding), 50 to mac(3).
	for i := 0; i < 100; i++ {
		src := [6]byte{0x52, 0, 0, 0, 0, byte(i)}
		dst := mac(2 + i%2)
		k := key(11, src, dst, "-")
		acts, m := upcall(t, x, k)
		dp.flows = append(dp.flows, installed(k, acts, m, time.Time{}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.RunRevalidator(ctx, dp, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				full, where := dp.counts()
				t.Fatalf("%s: %d full passes, %d flows visited", what, full, where)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The pending Publish of newX makes the first pass a full one (the
	// changes of the upcalls above go with it).
	wait("first pass", func() bool { full, _ := dp.counts(); return full == 1 })
	upcall(t, x, key(12, mac(2), bcast, "-"))
	wait("flows to mac(2) updated", func() bool { return dp.actions(0) == "12" })
	if full, where := dp.counts(); full != 1 || where != 50 {
		t.Fatalf("%d full passes, %d flows visited; want 1 and the 50 flows to mac(2)", full, where)
	}
	if dp.actions(1) != "12,13,10" {
		t.Fatalf("flow to mac(3) changed: %s", dp.actions(1))
	}
	x.Publish(threePorts())
	wait("full pass after Publish", func() bool { full, _ := dp.counts(); return full == 2 })
}

func (d *fakeDP) actions(i int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flows[i].Actions.String()
}

func TestRunRevalidator(t *testing.T) {
	x := newX(t, nil, threePorts())
	k := key(11, mac(1), mac(2), "-")
	acts, m := upcall(t, x, k)
	dp := &fakeDP{flows: []*datapath.FlowEntry{installed(k, acts, m, time.Time{})}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.RunRevalidator(ctx, dp, time.Hour); close(done) }()
	// Learning mac(2) must turn the flooding flow into a unicast one.
	upcall(t, x, key(12, mac(2), bcast, "-"))
	deadline := time.Now().Add(5 * time.Second)
	for dp.actions(0) != "12" {
		if time.Now().After(deadline) {
			t.Fatalf("flow not revalidated: %s", dp.actions(0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestFDBBackends(t *testing.T) {
	clk := newClock()
	x := newX(t, clk, threePorts())
	upcall(t, x, key(11, mac(1), bcast, "-"))
	clk.Advance(3 * time.Second)
	if err := x.AddStaticFDB("br0", "br0", "0", "50:54:00:00:00:33"); err != nil {
		t.Fatal(err)
	}
	got, err := x.FDB("br0")
	want := " port  VLAN  MAC                Age\n" +
		"    1     0  50:54:00:00:00:01    3\n" +
		"LOCAL     0  50:54:00:00:00:33  static\n"
	if err != nil || got != want {
		t.Fatalf("FDB: %v\n%q\nwant %q", err, got, want)
	}
	if _, err := x.FDB("nope"); err != ErrNoSuchBridge || err.Error() != "no such bridge" {
		t.Fatalf("unknown bridge: %v", err)
	}
	if err := x.AddStaticFDB("br0", "nope", "0", "50:54:00:00:00:33"); err != ErrNoSuchPort {
		t.Fatalf("unknown port: %v", err)
	}
	if err := x.AddStaticFDB("br0", "p1", "4096", "50:54:00:00:00:33"); err == nil {
		t.Fatal("bad VLAN accepted")
	}
	if err := x.DelStaticFDB("br0", "0", "50:54:00:00:00:99"); err == nil || err.Error() != "could not find static mac entry" {
		t.Fatalf("DelStaticFDB: %v", err)
	}
	if err := x.FlushFDB(""); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.FDB("br0"); strings.Count(got, "\n") != 2 {
		t.Fatalf("flush removed the static entry or kept learned ones:\n%s", got)
	}
	stats, _ := x.FDBStats("br0")
	if !strings.Contains(stats, "Current/maximum MAC entries in the table: 1/8192\n") ||
		!strings.Contains(stats, "Total number of learned MAC entries     : 1\n") {
		t.Fatalf("stats:\n%s", stats)
	}
	if err := x.ClearFDBStats("br0"); err != nil {
		t.Fatal(err)
	}
	if err := x.DelStaticFDB("br0", "0", "50:54:00:00:00:33"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUpcallsAndPublish runs upcalls on several goroutines while
// the configuration changes (run with -race).
func TestConcurrentUpcallsAndPublish(t *testing.T) {
	x := newX(t, nil, threePorts())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				x.Upcall(key(uint32(11+g), mac(i%20), mac((i+1)%20), "-"), nil)
			}
		}(g)
	}
	for i := 0; i < 200; i++ {
		cfg := threePorts()
		cfg.Bridges["br0"].Ports[uint32(1+i%3)].Tag = uint16(i % 2)
		x.Publish(cfg)
		_, _ = x.FDB("br0")
	}
	close(stop)
	wg.Wait()
}

// TestRefreshOnlyFromNewHits: a full pass re-learns a flow's source MAC
// only when the flow was hit since the previous pass (OVS pushes learning
// from a flow's statistics only when it has new packets), so an idle flow
// does not bring back a MAC that was evicted.
func TestRefreshOnlyFromNewHits(t *testing.T) {
	cfg := threePorts()
	cfg.Bridges["br0"].MACTableSize = 10
	clk := newClock()
	x := newX(t, clk, cfg)
	k := key(11, mac(1), mac(2), "-")
	acts, m := upcall(t, x, k)
	dp := &fakeDP{flows: []*datapath.FlowEntry{installed(k, acts, m, clk.Now())}}
	dirty := make(map[uint64]int64)
	clk.Advance(time.Second)
	x.revalidateAll(dp, dirty)
	tb := x.MACTable("br0")
	for i := 0; i < 10; i++ { // port 1's new MACs evict mac(1)
		tb.Learn(0, [6]byte{0x52, 0, 0, 0, 0, byte(i)}, 1)
	}
	if _, ok := tb.Lookup(0, mac(1)); ok {
		t.Fatal("mac(1) not evicted")
	}
	clk.Advance(time.Second)
	x.revalidateAll(dp, dirty)
	if _, ok := tb.Lookup(0, mac(1)); ok {
		t.Fatal("an idle flow re-learned its evicted source MAC")
	}
	clk.Advance(time.Millisecond)
	dp.flows[0].Stats.Used = clk.Now() // a hit after that pass started
	clk.Advance(time.Second)
	x.revalidateAll(dp, dirty)
	if p, ok := tb.Lookup(0, mac(1)); !ok || p != 1 {
		t.Fatalf("a flow hit since the last pass did not refresh its MAC: %d %v", p, ok)
	}
}

func TestPeriodicGap(t *testing.T) {
	for _, tt := range []struct{ took, want time.Duration }{
		{2 * time.Millisecond, time.Second},
		{3 * time.Millisecond, time.Second},
		{10 * time.Millisecond, 3 * time.Second},
		{25 * time.Millisecond, 7500 * time.Millisecond},
		{250 * time.Millisecond, maxPeriodicGap},
		{5 * time.Second, maxPeriodicGap},
	} {
		if got := periodicGap(time.Second, tt.took); got != tt.want {
			t.Errorf("periodicGap(1s, %v) = %v, want %v", tt.took, got, tt.want)
		}
	}
}

type countingDP struct {
	fakeDP
	n int
}

func (d *countingDP) FlowCount() int { return d.n }

// TestPeriodicWaitScalesWithFlows: after a pass over few flows the next
// periodic pass is due after the interval, but when the table has grown
// since, it waits as long as a pass over the larger table needs.
func TestPeriodicWaitScalesWithFlows(t *testing.T) {
	dp := &countingDP{n: 10}
	var p periodicCost
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if w := p.wait(dp, time.Second, t0); w != 0 {
		t.Fatalf("before any pass: wait %v", w)
	}
	p.record(0, t0, t0.Add(10*time.Microsecond)) // nothing measured: minPerFlow
	end := t0.Add(10 * time.Microsecond)
	if w := p.wait(dp, time.Second, end.Add(time.Second)); w != 0 {
		t.Fatalf("same table after the interval: wait %v", w)
	}
	dp.n = 20000 // a 20 ms pass: 6 s apart
	if w := p.wait(dp, time.Second, end.Add(time.Second)); w != 5*time.Second {
		t.Fatalf("grown table after 1 s: wait %v, want 5s", w)
	}
	dp.n = 10000000
	if w := p.wait(dp, time.Second, end.Add(time.Second)); w != maxPeriodicGap-time.Second {
		t.Fatalf("huge table: wait %v, want %v", w, maxPeriodicGap-time.Second)
	}
	p.record(10, end, end.Add(30*time.Microsecond)) // 3 µs per flow
	end = end.Add(30 * time.Microsecond)
	dp.n = 3000 // a 9 ms pass: 2.7 s apart
	if w := p.wait(dp, time.Second, end.Add(time.Second)); w != 1700*time.Millisecond {
		t.Fatalf("measured cost: wait %v, want 1.7s", w)
	}
}
