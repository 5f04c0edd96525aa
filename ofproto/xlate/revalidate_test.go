package xlate

import (
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/ofproto/maclearn"
)

// fakeFlows is a FlowRevalidator over fixed entries that records which
// ones the pass translated. Entries are installed with the stale action
// staleOut, which no translation produces, so a translated entry is one
// that came back with other actions or deleted.
type fakeFlows struct {
	entries    []datapath.FlowEntry
	translated []bool
}

var staleOut = datapath.Actions{{Kind: datapath.ActOutput, Port: 99}}

func (f *fakeFlows) Revalidate(fn datapath.RevalidateFunc) (modified, deleted int) {
	f.translated = f.translated[:0]
	for i := range f.entries {
		acts, keep := fn(&f.entries[i])
		f.translated = append(f.translated, !keep || acts.String() != staleOut.String())
	}
	return 0, 0
}

// The periodic pass translates only the flows that may be stale: a flow to
// a MAC whose change is pending, a flow installed since the previous pass
// whose destination changed (or a pass over every flow started) around its
// upcall, a flow from an unconfigured port. Verified flows, idle or hit,
// are not translated; those hit since the previous pass get their source
// MACs refreshed. A pending Publish makes it translate everything.
func TestRevalidatePeriodicTranslatesOnlyFlowsThatMayBeStale(t *testing.T) {
	clk := newClock()
	x := newX(t, clk, threePorts())
	dst, racedDst, pendingDst := mac(2), mac(3), mac(4)
	tb := x.MACTable("br0")
	tb.Learn(0, dst, 2)
	tb.Learn(0, racedDst, 2)
	changed := make(map[uint64]int64)
	x.revalidateAll(&fakeFlows{}, changed) // the Publish's pass
	clk.Advance(10 * time.Second)
	prev := clk.Now()
	x.refreshAfter.Store(prev.UnixNano())
	clk.Advance(2 * time.Second)
	old := prev.Add(-2 * verifiedMargin)
	recent := prev.Add(-verifiedMargin / 2) // installed after the previous pass could verify it
	// racedDst changed again, taken by a change pass after the recent
	// flows' upcalls began but before they were installed (so it did
	// not see them).
	changed[maclearn.MACBits(racedDst)] = recent.Add(time.Millisecond).UnixNano()
	tb.Learn(0, pendingDst, 3) // not taken yet
	entry := func(in uint32, src, dst [6]byte, created, used time.Time) datapath.FlowEntry {
		e := datapath.FlowEntry{Created: created, Actions: staleOut}
		e.Stats.Used = used
		e.Key = datapath.FlowKey{InPort: in, EthSrc: src, EthDst: dst}
		return e
	}
	hit := prev.Add(time.Second)
	dp := &fakeFlows{entries: []datapath.FlowEntry{
		entry(11, mac(10), dst, old, time.Time{}),        // idle, never hit
		entry(11, mac(11), dst, old, old),                // idle since the previous pass
		entry(11, mac(12), dst, old, hit),                // hit since: refreshed, not translated
		entry(11, mac(13), dst, recent, hit),             // recent, destination unchanged
		entry(11, mac(14), racedDst, recent, hit),        // recent, destination changed around its upcall
		entry(11, mac(15), racedDst, old, hit),           // verified before that change: its pass saw it
		entry(11, mac(16), pendingDst, old, time.Time{}), // a change not yet revalidated
		entry(77, mac(17), dst, old, hit),                // from a port that is not configured
	}}
	for _, e := range dp.entries {
		// What their upcalls, or earlier passes, did.
		x.dsts.note(e.Key.EthDst, e.Created.UnixNano())
	}
	x.revalidatePeriodic(dp, changed)
	want := []bool{false, false, false, false, true, false, true, true}
	for i, tr := range dp.translated {
		if tr != want[i] {
			t.Errorf("flow %d: translated %v, want %v", i, tr, want[i])
		}
	}
	for i, w := range map[int]bool{10: false, 11: false, 12: true, 13: true} {
		if _, ok := tb.Lookup(0, mac(i)); ok != w {
			t.Errorf("source mac(%d) learned %v, want %v", i, ok, w)
		}
	}
	if got := x.refreshAfter.Load(); got <= prev.UnixNano() {
		t.Errorf("refreshAfter not advanced")
	}

	// A Publish not yet revalidated: every flow is translated.
	x.Publish(threePorts())
	x.revalidatePeriodic(dp, changed)
	for i, tr := range dp.translated {
		if !tr {
			t.Errorf("after Publish, flow %d not translated", i)
		}
	}
	// Flows whose upcalls began before that pass over every flow started
	// and that it did not see could have been translated with the old
	// configuration.
	fullAt := clk.Now()
	clk.Advance(verifiedMargin / 2)
	for i := range dp.entries {
		dp.entries[i].Actions = staleOut
		dp.entries[i].Created = fullAt.Add(-time.Millisecond)
	}
	x.revalidatePeriodic(dp, changed)
	for i, tr := range dp.translated {
		if !tr {
			t.Errorf("after a full pass, recent flow %d not translated", i)
		}
	}
}

// TestRevalidatePeriodicRepairsRacedFlow: an upcall translates while its
// destination is unknown, the destination is learned and its change pass
// runs before the flow is installed, so that pass cannot fix the flow; the
// next periodic pass does.
func TestRevalidatePeriodicRepairsRacedFlow(t *testing.T) {
	clk := newClock()
	x := newX(t, clk, threePorts())
	upcall(t, x, key(13, mac(3), bcast, "-"))
	dp := &whereDP{}
	changed := make(map[uint64]int64)
	x.revalidateAll(dp, changed)
	clk.Advance(5 * time.Second)
	k := key(11, mac(1), mac(2), "-")
	began := clk.Now()
	acts, m := upcall(t, x, k) // mac(2) unknown: flood
	if acts.String() != "12,13,10" {
		t.Fatalf("upcall: %s", acts)
	}
	x.MACTable("br0").Learn(0, mac(2), 2)
	clk.Advance(10 * time.Millisecond)
	x.revalidateChanged(dp, changed) // no flow to revalidate yet
	clk.Advance(10 * time.Millisecond)
	f := installed(k, acts, m, clk.Now())
	f.Created = began
	dp.flows = append(dp.flows, f)
	// A second flow installed at the same time to a destination that did
	// not change stays as it is (its actions are deliberately stale).
	k2 := key(12, mac(2), mac(3), "-")
	_, m2 := upcall(t, x, k2)
	f2 := installed(k2, staleOut, m2, clk.Now())
	f2.Created = began
	dp.flows = append(dp.flows, f2)
	clk.Advance(2 * time.Second)
	x.revalidatePeriodic(dp, changed)
	if got := dp.flows[0].Actions.String(); got != "12" {
		t.Fatalf("raced flow after the periodic pass: %s, want 12", got)
	}
	if got := dp.flows[1].Actions.String(); got != staleOut.String() {
		t.Fatalf("unaffected flow translated: %s", got)
	}
}

// TestPeriodicRefreshKeepsMACAlive: a verified flow that keeps forwarding
// keeps its source MAC learned across periodic passes and aging, without
// being translated, and its MAC comes back after an eviction; once idle the
// MAC ages out.
func TestPeriodicRefreshKeepsMACAlive(t *testing.T) {
	clk := newClock()
	cfg := threePorts()
	cfg.Bridges["br0"].MACAgingTime = 30 * time.Second
	x := newX(t, clk, cfg)
	changed := make(map[uint64]int64)
	k := key(11, mac(1), mac(2), "-")
	upcall(t, x, k)
	f := datapath.FlowEntry{Key: *k, Actions: staleOut, Created: clk.Now().Add(-5 * time.Second)}
	dp := &fakeFlows{entries: []datapath.FlowEntry{f}}
	x.revalidateAll(&fakeFlows{}, changed)
	tb := x.MACTable("br0")
	for i := 0; i < 5; i++ {
		clk.Advance(20 * time.Second)
		dp.entries[0].Stats.Used = clk.Now().Add(-time.Second)
		if i == 2 {
			tb.Flush() // as if evicted
		}
		x.revalidatePeriodic(dp, changed)
		if dp.translated[0] {
			t.Fatalf("pass %d translated a verified flow", i)
		}
		x.Expire()
		if p, ok := tb.Lookup(0, mac(1)); !ok || p != 1 {
			t.Fatalf("pass %d: MAC of an active flow not learned (%d %v)", i, p, ok)
		}
	}
	clk.Advance(31 * time.Second)
	x.revalidatePeriodic(dp, changed)
	x.Expire()
	if _, ok := tb.Lookup(0, mac(1)); ok {
		t.Fatal("MAC of an idle flow did not age")
	}
}

// TestChangesToOtherMACsScanNothing: a change pass scans the flows only
// when a changed MAC is the destination of some flow, so that re-learning
// thousands of source MACs that no flow sends to costs no scan.
func TestChangesToOtherMACsScanNothing(t *testing.T) {
	x := newX(t, nil, threePorts())
	dp := &whereDP{}
	changed := make(map[uint64]int64)
	for i := 0; i < 20; i++ {
		k := key(11, [6]byte{0x52, 0, 0, 0, 0, byte(i)}, mac(2), "-")
		acts, m := upcall(t, x, k)
		dp.flows = append(dp.flows, installed(k, acts, m, time.Time{}))
	}
	x.revalidateAll(dp, changed)
	tb := x.MACTable("br0")
	for i := 0; i < 20; i++ {
		tb.Learn(0, [6]byte{0x52, 0, 0, 0, 1, byte(i)}, 1)
	}
	x.revalidateChanged(dp, changed)
	if _, where := dp.counts(); where != 0 {
		t.Fatalf("changes to no flow's destination visited %d flows", where)
	}
	tb.Learn(0, mac(2), 2)
	x.revalidateChanged(dp, changed)
	if _, where := dp.counts(); where != 20 {
		t.Fatalf("a change to the flows' destination visited %d flows, want 20", where)
	}
	if got := dp.actions(0); got != "12" {
		t.Fatalf("flow to mac(2): %s", got)
	}
}

// A pacer pauses once a burst has lasted its time, counted every
// paceEvery flows, and adds up its pauses; a nil pacer does nothing.
func TestPacer(t *testing.T) {
	var none *pacer
	none.begin()
	none.step()
	p := &pacer{burst: 0, pause: time.Millisecond}
	p.begin()
	for i := 0; i < paceEvery-1; i++ {
		p.step()
	}
	if p.paused != 0 {
		t.Fatalf("paused before %d flows", paceEvery)
	}
	p.step()
	if p.paused < time.Millisecond {
		t.Fatalf("paused %v after a burst, want >= 1ms", p.paused)
	}
	p.begin()
	if p.paused != 0 {
		t.Fatal("begin did not reset the pauses")
	}
}
