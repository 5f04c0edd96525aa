package xlate

import (
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/ofproto/maclearn"
)

// fakeFlows is a FlowRevalidator over fixed entries that records which
// ones the pass translated (an empty configuration deletes every flow it
// translates, since no in_port is configured).
type fakeFlows struct {
	entries []datapath.FlowEntry
	kept    []bool
}

func (f *fakeFlows) Revalidate(fn datapath.RevalidateFunc) (modified, deleted int) {
	f.kept = f.kept[:0]
	for i := range f.entries {
		_, keep := fn(&f.entries[i])
		f.kept = append(f.kept, keep)
	}
	return 0, 0
}

// The periodic pass keeps idle flows verified by the previous full pass
// untranslated, and translates the others: a flow created since (its
// upcall may have raced with a change), a flow hit since (its MACs are
// refreshed), a flow to a MAC whose change pass has not run yet. A pending
// Publish makes it translate everything.
func TestRevalidatePeriodicSkipsVerifiedIdleFlows(t *testing.T) {
	x := New()
	prev := time.Now()
	x.refreshAfter.Store(prev.UnixNano())
	old := prev.Add(-2 * verifiedMargin)
	entry := func(created, used time.Time, dst [6]byte) datapath.FlowEntry {
		e := datapath.FlowEntry{Created: created, Actions: datapath.Actions{{Kind: datapath.ActOutput, Port: 2}}}
		e.Stats.Used = used
		e.Key.EthDst = dst
		return e
	}
	changed := [6]byte{2, 0, 0, 0, 0, 9}
	dp := &fakeFlows{entries: []datapath.FlowEntry{
		entry(old, time.Time{}, mac(1)),                 // idle, never hit: skipped
		entry(old, old, mac(1)),                         // idle since the pass: skipped
		entry(old, prev.Add(time.Millisecond), mac(1)),  // hit since: translated
		entry(prev.Add(-verifiedMargin/2), old, mac(1)), // created just before the pass: translated
		entry(old, old, changed),                        // destination changed: translated
	}}
	dirty := map[uint64]struct{}{maclearn.MACBits(changed): {}}
	x.revalidatePeriodic(dp, dirty)
	want := []bool{true, true, false, false, false}
	for i, k := range dp.kept {
		if k != want[i] {
			t.Errorf("flow %d: kept %v, want %v", i, k, want[i])
		}
	}
	if len(dirty) != 0 {
		t.Errorf("dirty set not cleared: %d", len(dirty))
	}
	if got := x.refreshAfter.Load(); got <= prev.UnixNano() {
		t.Errorf("refreshAfter not advanced")
	}

	// A Publish not yet revalidated: every flow is translated.
	x.refreshAfter.Store(prev.UnixNano())
	x.full.Store(true)
	x.revalidatePeriodic(dp, dirty)
	for i, k := range dp.kept {
		if k {
			t.Errorf("after Publish, flow %d kept untranslated", i)
		}
	}
}
