package xlate

import (
	"context"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/ofproto/maclearn"
)

// FlowRevalidator is what RunRevalidator needs from the datapath:
// *datapath.Datapath implements it.
type FlowRevalidator interface {
	Revalidate(fn datapath.RevalidateFunc) (modified, deleted int)
}

// flowCounter is a FlowRevalidator that can tell how many flows it holds
// (*datapath.Datapath is one): RunRevalidator scales the periodic gap with
// it.
type flowCounter interface {
	FlowCount() int
}

// whereRevalidator is a FlowRevalidator that can also revalidate a subset
// of the flows (*datapath.Datapath is one).
type whereRevalidator interface {
	RevalidateWhere(match func(*datapath.FlowKey) bool, fn datapath.RevalidateFunc) (modified, deleted int)
}

// unlessRevalidator is a FlowRevalidator that can pass over flows before
// building their entries (*datapath.Datapath is one).
type unlessRevalidator interface {
	RevalidateUnless(skip func(created, used int64, key *datapath.FlowKey) bool, fn datapath.RevalidateFunc) (modified, deleted int)
}

// RunRevalidator keeps dp's megaflows consistent with the configuration and
// the MAC tables until ctx is done. It runs in the caller's goroutine.
//
// Every interval (default 1 s when interval <= 0; longer when a pass is
// slow or the table has grown since the last one, see periodicGap and
// periodicCost) it revalidates the flows that may need it
// (revalidatePeriodic: those hit or installed since the previous full pass):
// that pass refreshes learned MACs from flow statistics before aging
// the tables, so a MAC whose traffic stays in the fast path never expires,
// and it repairs a flow installed from a snapshot that was replaced while
// its upcall ran. Between periodic passes, whenever Changes fires, it
// revalidates at once what may have changed: every flow after a Publish,
// and after MAC table changes only the flows whose destination MAC is one
// of the changed entries' (NORMAL looks the table up for the destination
// only, so no other flow's actions can depend on them). That keeps a port
// sending from more source MACs than the table holds, where every new MAC
// evicts another, from re-translating every flow for every eviction. After
// a change-triggered pass it lets changes accumulate for changeGap or four
// times the pass's duration, whichever is longer, so that a burst of new
// MACs (each upcall learning one) costs one filtered scan of the flows per
// gap, not one per MAC, and such scans take at most a fifth of a CPU.
func (x *Xlate) RunRevalidator(ctx context.Context, dp FlowRevalidator, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTimer(interval)
	defer tick.Stop()
	dirty := make(map[uint64]struct{})
	gap := time.NewTimer(0)
	<-gap.C
	// The start counts as a pass over no flows, so that a table filled
	// within the first interval also waits for its first pass.
	per := periodicCost{end: time.Now()}
	for {
		select {
		case <-ctx.Done():
			return
		case <-x.changes:
			start := time.Now()
			x.revalidateChanged(dp, dirty)
			gap.Reset(max(changeGap, 4*time.Since(start)))
			select {
			case <-ctx.Done():
				return
			case <-gap.C:
			}
		case <-tick.C:
			if wait := per.wait(dp, interval, time.Now()); wait > 0 {
				// The table grew since the gap was set: a pass now
				// would cost more than the share allows.
				tick.Reset(wait)
				continue
			}
			start := time.Now()
			n := flowCount(dp)
			x.revalidatePeriodic(dp, dirty)
			end := time.Now()
			per.record(n, start, end)
			tick.Reset(periodicGap(interval, end.Sub(start)))
			if x.Expire() > 0 {
				// Expire notified; the next loop revalidates.
				continue
			}
		}
	}
}

// changeGap is the least time between two change-triggered passes.
const changeGap = 10 * time.Millisecond

// Periodic passes over every flow are spaced so that they take at most a
// hundredth of a CPU (periodicShare): with 100k megaflows a pass
// re-translates and re-learns for 100-300 ms, which at one per second took
// a third of gvswitchd's CPU on two vCPUs, away from forwarding. With the
// poll thread saturated, the CPU a pass takes from it is lost as a burst of
// receive-ring drops (a tenth lost frames every ~3 s, a thirtieth every
// ~2-9 s, see docs/architecture.md), so the share is what a forwarding
// thread at full load loses to them in the long run. The gap never exceeds
// maxPeriodicGap, so MAC aging (300 s by default, at least 15 s) and the
// refresh of learned MACs from flow statistics stay timely; changes still
// trigger their own passes at once (RunRevalidator), so the periodic pass
// only refreshes learning and repairs the rare flow whose upcall raced with
// a change.
const (
	periodicShare  = 100
	maxPeriodicGap = 10 * time.Second
)

// periodicCost remembers what the last periodic pass cost per flow, so that
// the next one can be put off when the table has grown since: the gap set
// after a pass over a few flows is 1 s, and without this the first pass
// after 100k flows appear would come within that second.
type periodicCost struct {
	perFlow time.Duration // the last pass's duration per flow
	end     time.Time     // when the last pass ended
}

func (p *periodicCost) record(flows int, start, end time.Time) {
	p.end = end
	if flows > 0 {
		p.perFlow = end.Sub(start) / time.Duration(flows)
	}
}

// minPerFlow is the least a periodic pass is assumed to cost per flow when
// the next one is planned: a pass over a small table, all in cache,
// measures 0.4 µs per flow, one over 100k flows 1.4-2 µs (and a table that
// was empty at the last pass measured nothing).
const minPerFlow = time.Microsecond

// wait returns how much longer the next periodic pass should wait, at now,
// for a pass over the flows dp holds now to keep to periodicGap.
func (p *periodicCost) wait(dp FlowRevalidator, interval time.Duration, now time.Time) time.Duration {
	if p.end.IsZero() {
		return 0
	}
	est := max(p.perFlow, minPerFlow) * time.Duration(flowCount(dp))
	return p.end.Add(periodicGap(interval, est)).Sub(now)
}

// flowCount returns how many flows dp holds, or 0 when it cannot tell.
func flowCount(dp FlowRevalidator) int {
	if c, ok := dp.(flowCounter); ok {
		return c.FlowCount()
	}
	return 0
}

// periodicGap is the wait before the next periodic pass after one that
// took: the interval, or periodicShare times the pass when that is longer.
func periodicGap(interval, took time.Duration) time.Duration {
	return max(interval, min(periodicShare*took, maxPeriodicGap))
}

// revalidateAll revalidates every flow. The pending changes are dropped
// first, so that changes made during the pass are seen by the next one.
func (x *Xlate) revalidateAll(dp FlowRevalidator, dirty map[uint64]struct{}) {
	x.full.Store(false)
	x.takeChanges(dirty)
	clear(dirty)
	start := x.now()
	dp.Revalidate(x.RevalidateFlow)
	x.refreshAfter.Store(start.UnixNano())
}

// verifiedMargin is how long before the previous full pass's start a flow
// must have been created for that pass to count as having verified it: a
// flow's creation time is stamped just before it enters the classifier,
// and a pass lists the flows after it notes its start.
const verifiedMargin = time.Second

// revalidatePeriodic is the periodic full pass. Besides refreshing learned
// MACs from the flows hit since the previous full pass, it only needs to
// repair flows that could be stale: those installed since that pass
// started (an upcall may have translated against a MAC table or snapshot
// that changed before the flow was installed, after the change pass had
// listed the flows) and those to a destination whose MAC changed but whose
// change pass has not run yet. Every other flow was verified by the
// previous full pass, and since then each change re-translated the flows it
// could affect (Publish: every flow; a MAC table change, including aging
// and eviction: the flows to that MAC). So a flow idle since the previous
// full pass, created before it, and to an unchanged destination is kept as
// it is, without translating it. A pending Publish or an overflowed change
// log makes it an ordinary full pass.
func (x *Xlate) revalidatePeriodic(dp FlowRevalidator, dirty map[uint64]struct{}) {
	if x.full.Swap(false) || !x.takeChanges(dirty) {
		x.revalidateAll(dp, dirty)
		return
	}
	prev := x.refreshAfter.Load()
	verified := prev - int64(verifiedMargin)
	skip := func(created, used int64, key *datapath.FlowKey) bool {
		if prev <= 0 || created >= verified || used > prev {
			return false
		}
		if len(dirty) == 0 {
			return true
		}
		_, changed := dirty[maclearn.MACBits(key.EthDst)]
		return !changed
	}
	start := x.now()
	if u, ok := dp.(unlessRevalidator); ok {
		u.RevalidateUnless(skip, x.RevalidateFlow)
	} else {
		dp.Revalidate(func(f *datapath.FlowEntry) (datapath.Actions, bool) {
			var used int64
			if !f.Stats.Used.IsZero() {
				used = f.Stats.Used.UnixNano()
			}
			if skip(f.Created.UnixNano(), used, &f.Key) {
				return f.Actions, true
			}
			return x.RevalidateFlow(f)
		})
	}
	clear(dirty)
	x.refreshAfter.Store(start.UnixNano())
}

// revalidateChanged revalidates the flows that the changes since the last
// pass may affect.
func (x *Xlate) revalidateChanged(dp FlowRevalidator, dirty map[uint64]struct{}) {
	w, ok := dp.(whereRevalidator)
	if !ok || x.full.Load() {
		x.revalidateAll(dp, dirty)
		return
	}
	if !x.takeChanges(dirty) {
		x.revalidateAll(dp, dirty)
		return
	}
	if len(dirty) == 0 {
		return
	}
	// Flows mostly share a few destinations (the hosts that receive), so
	// the previous answer usually decides the next flow without a lookup
	// in a set that may hold hundreds of thousands of MACs.
	var last [6]byte
	lastOK, have := false, false
	w.RevalidateWhere(func(k *datapath.FlowKey) bool {
		if !have || k.EthDst != last {
			_, lastOK = dirty[maclearn.MACBits(k.EthDst)]
			last, have = k.EthDst, true
		}
		return lastOK
	}, x.RevalidateFlow)
	clear(dirty)
}

// takeChanges collects every bridge's changed MACs into dirty and reports
// false when some table overflowed its log.
func (x *Xlate) takeChanges(dirty map[uint64]struct{}) bool {
	ok := true
	for _, b := range x.snap.Load().bridges {
		if !b.ml.TakeChanges(dirty) {
			ok = false
		}
	}
	return ok
}
