package xlate

import (
	"context"
	"maps"
	"sync"
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
// periodicCost) it runs a periodic pass (revalidatePeriodic, in bursts of
// paceBurst): it refreshes learned MACs from the flows hit since the
// previous pass before aging the tables, so a MAC whose traffic stays in
// the fast path never expires, and it re-translates the flows that may be
// stale, such as one installed from a snapshot or MAC table that changed
// while its upcall ran. Between periodic passes, whenever Changes fires, it
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
	x.reval.pace = &pacer{burst: paceBurst, pause: pacePause}
	changed := make(map[uint64]int64)
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
			x.revalidateChanged(dp, changed)
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
			x.revalidatePeriodic(dp, changed)
			// What the pass cost is its time less its pauses.
			end := time.Now().Add(-x.reval.pace.paused)
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

// Periodic passes are spaced so that they take at most 1/periodicShare of
// a CPU: with 100k megaflows a pass once re-translated and re-learned for
// 100-300 ms, which at one per second took a third of gvswitchd's CPU on two
// vCPUs, away from forwarding. With the poll thread saturated, the CPU a
// pass takes from it is lost as receive-ring drops (see docs/architecture.md),
// so the share is what a forwarding thread at full load loses to them in the
// long run. A pass over 100k hit flows now costs 40-50 ms; at a hundredth
// that was a pass every 4-5 s (1.4% of gvswitchd's perf samples), at a
// three-hundredth it is one every 10 s. The gap never exceeds
// maxPeriodicGap, so MAC aging (300 s by default, at least 15 s) and the
// refresh of learned MACs from flow statistics stay timely; changes still
// trigger their own passes at once (RunRevalidator), so the periodic pass
// only refreshes learning and repairs the rare flow whose upcall raced with
// a change.
const (
	periodicShare  = 300
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

// revalidateAll revalidates every flow. The pending changes are taken
// first, so that changes made during the pass are seen by the next one.
func (x *Xlate) revalidateAll(dp FlowRevalidator, changed map[uint64]int64) {
	x.full.Store(false)
	start := x.takeTime()
	x.takeChanges(changed, start)
	x.reval.fullAt = start
	var dst lastDst
	dp.Revalidate(func(f *datapath.FlowEntry) (datapath.Actions, bool) {
		if _, _, isNew := dst.get(nil, f.Key.EthDst); isNew {
			x.dsts.note(f.Key.EthDst, start)
		}
		return x.RevalidateFlow(f)
	})
	x.dsts.prune(start)
	x.refreshAfter.Store(start)
}

// verifiedMargin is how long before the previous full pass's start a flow
// must have been created for that pass to count as having verified it: a
// flow's creation time is stamped when its upcall begins, before it enters
// the classifier, and a pass lists the flows after it notes its start; an
// upcall and its installation are assumed to take less than this.
const verifiedMargin = time.Second

// revalState is the revalidator's own state, used only by the goroutine
// that runs the passes (RunRevalidator, or a test or benchmark calling the
// passes directly).
type revalState struct {
	// fullAt is when the latest pass over every flow (after a Publish
	// or an overflowed change log) took the changes, in Unix ns.
	fullAt int64
	// pace spreads periodic passes into bursts (nil: one burst).
	pace *pacer
	// lastTake is the time of the latest take (takeTime).
	lastTake int64
	memo     learnMemo
}

// revalidatePeriodic is the periodic pass. It translates only the flows
// that could be stale, and refreshes learning from the others that were
// hit since the previous periodic or full pass without translating them.
//
// A flow can be stale when a change its translation depends on has not
// been revalidated for it: a pending change to its destination MAC (NORMAL
// reads the table for the destination only), or a change that raced with
// its upcall, i.e. was taken by a pass after the upcall translated but
// before the flow was installed, so that pass did not see the flow. The
// changed map remembers when each changed MAC was last taken, and a flow's
// creation time is when its upcall began (datapath.FlowEntry.Created), so a
// flow installed since the previous periodic pass is translated only when
// its destination was taken, or a pass over every flow (a Publish)
// started, at or after its creation: a change taken before that happened
// before the upcall read anything. Every other flow was verified: by an
// earlier pass, or by its own upcall, which saw every change it depends
// on.
//
// What the pass still does for the verified flows hit since the previous
// pass is refresh the MACs their translation learns (as OVS's revalidator
// pushes a flow's new packets into learning), so that a MAC whose traffic
// stays in the fast path does not age out and an evicted one comes back.
// That learning depends only on the flow's key without its source MAC
// (in_port, VLAN tags, destination, whether the source is multicast or the
// destination itself) and the snapshot, and the MAC learned is always the
// source: the pass translates one flow per such class (learnMemo) and
// applies its learning to the others' source MACs. With 100k flows from
// 100k source MACs to one host that is one translation per pass instead of
// 100k, and the verified flows are decided before the datapath builds an
// entry for them.
//
// A pending Publish or an overflowed change log makes it an ordinary pass
// over every flow.
func (x *Xlate) revalidatePeriodic(dp FlowRevalidator, changed map[uint64]int64) {
	x.reval.pace.begin()
	prev := x.refreshAfter.Load()
	if prev > 0 {
		// A change taken earlier matters to no flow the skip below
		// looks at: flows created before prev-verifiedMargin are
		// verified, the others compare with their creation time.
		cutoff := prev - int64(verifiedMargin)
		maps.DeleteFunc(changed, func(_ uint64, at int64) bool { return at < cutoff })
	}
	if x.full.Swap(false) {
		x.revalidateAll(dp, changed)
		return
	}
	take := x.takeTime()
	if _, ok := x.takeChanges(changed, take); !ok {
		x.revalidateAll(dp, changed)
		return
	}
	verified := prev - int64(verifiedMargin)
	fullAt := x.reval.fullAt
	memo := &x.reval.memo
	memo.reset(x.snap.Load(), time.Unix(0, take))
	pace := x.reval.pace
	var dst lastDst
	skip := func(created, used int64, key *datapath.FlowKey) bool {
		pace.step()
		lastAt, lastIn, isNew := dst.get(changed, key.EthDst)
		if isNew {
			x.dsts.note(key.EthDst, take)
		}
		if prev <= 0 {
			return false
		}
		if lastIn && lastAt == take {
			return false // its change pass has not run yet
		}
		if created >= verified && (fullAt >= created || (lastIn && lastAt >= created)) {
			return false // may have raced with that change
		}
		if used > prev {
			return x.refreshLearned(memo, key, used)
		}
		return true
	}
	translate := x.RevalidateFlow
	if pace != nil {
		translate = func(f *datapath.FlowEntry) (datapath.Actions, bool) {
			pace.step()
			return x.RevalidateFlow(f)
		}
	}
	if u, ok := dp.(unlessRevalidator); ok {
		u.RevalidateUnless(skip, translate)
	} else {
		dp.Revalidate(func(f *datapath.FlowEntry) (datapath.Actions, bool) {
			var used int64
			if !f.Stats.Used.IsZero() {
				used = f.Stats.Used.UnixNano()
			}
			if skip(f.Created.UnixNano(), used, &f.Key) {
				return f.Actions, true
			}
			return translate(f)
		})
	}
	memo.reset(nil, time.Time{})
	x.dsts.prune(take)
	x.refreshAfter.Store(take)
}

// A periodic pass runs in bursts of at most paceBurst with pacePause
// between them. With the forwarding thread saturated (100k flows on two
// vCPUs) whatever CPU a pass takes from it is lost as receive-ring drops
// when it comes in one piece longer than the ring lasts (2048 frames, 4 ms
// at 0.5 Mpps); in bursts of 1 ms the ring absorbs each one, and the
// pauses let the thread catch up. A pass over 100k hit flows (40-50 ms)
// then spreads over about a quarter of a second. Passes after a change
// are not paced: they make forwarding right.
const (
	paceBurst = time.Millisecond
	pacePause = 4 * time.Millisecond
	// paceEvery is how many flows go between two looks at the clock.
	paceEvery = 128
)

// pacer spreads a pass into bursts; its methods do nothing on nil.
type pacer struct {
	burst, pause time.Duration
	start        time.Time
	n            int
	paused       time.Duration // the pass's pauses so far
}

func (p *pacer) begin() {
	if p == nil {
		return
	}
	p.start, p.n, p.paused = time.Now(), 0, 0
}

// step counts one flow and pauses when the burst has lasted long enough.
func (p *pacer) step() {
	if p == nil {
		return
	}
	p.n++
	if p.n%paceEvery != 0 || time.Since(p.start) < p.burst {
		return
	}
	t := time.Now()
	time.Sleep(p.pause)
	p.start = time.Now()
	p.paused += p.start.Sub(t)
}

// revalidateChanged revalidates the flows that the changes since the last
// pass may affect.
func (x *Xlate) revalidateChanged(dp FlowRevalidator, changed map[uint64]int64) {
	w, ok := dp.(whereRevalidator)
	if !ok || x.full.Load() {
		x.revalidateAll(dp, changed)
		return
	}
	take := x.takeTime()
	n, ok := x.takeChanges(changed, take)
	if !ok {
		x.revalidateAll(dp, changed)
		return
	}
	if n == 0 {
		return
	}
	var dst lastDst
	w.RevalidateWhere(func(k *datapath.FlowKey) bool {
		at, in, _ := dst.get(changed, k.EthDst)
		return in && at == take
	}, x.RevalidateFlow)
}

// takeTime returns the time of a new take of the changes (Unix ns): now,
// but always after the previous take, so that each take's changes can be
// told apart by their time even when the clock is coarse (or a test's).
func (x *Xlate) takeTime() int64 {
	t := max(x.now().UnixNano(), x.reval.lastTake+1)
	x.reval.lastTake = t
	return t
}

// takeChanges records in changed, at take (Unix ns), the MACs changed in
// every bridge since the previous take that are the destination of some
// flow (x.dsts), and returns how many such changes there were (duplicates
// counted); ok is false when some table overflowed its log. Changes to
// other MACs matter to no flow: NORMAL reads the table for the
// destination only, and an upcall notes its destination before it
// translates, so a flow whose upcall raced with a change to its
// destination had it noted before the change was taken. Leaving them out
// keeps the change passes after a refresh that re-learns tens of
// thousands of evicted source MACs from scanning every flow.
func (x *Xlate) takeChanges(changed map[uint64]int64, take int64) (n int, ok bool) {
	ok = true
	d := &x.dsts
	d.mu.RLock()
	defer d.mu.RUnlock()
	note := func(m uint64) {
		if _, in := d.m[m]; in {
			changed[m] = take
			n++
		}
	}
	for _, b := range x.snap.Load().bridges {
		if _, bok := b.ml.TakeChangesFunc(note); !bok {
			ok = false
		}
	}
	return n, ok
}

// dstSet holds the unicast destination MACs of the installed flows (a
// superset), each with when it was last noted (Unix ns): by the upcall that
// translated a flow to it, or by a pass that saw such a flow.
type dstSet struct {
	mu sync.RWMutex
	m  map[uint64]int64
}

// dstRenote is how old an entry may be before an upcall notes it again
// (taking the write lock); prune keeps entries 2*verifiedMargin, so an
// entry an upcall found fresh outlives the pass that may not see its flow.
const dstRenote = verifiedMargin / 2

// note records that a flow to mac exists or is being translated, at now.
func (d *dstSet) note(mac [6]byte, now int64) {
	if isMulticast(mac) {
		return // NORMAL floods these without reading the table
	}
	m := maclearn.MACBits(mac)
	d.mu.RLock()
	at, ok := d.m[m]
	d.mu.RUnlock()
	if ok && at >= now-int64(dstRenote) {
		return
	}
	d.mu.Lock()
	if d.m == nil {
		d.m = make(map[uint64]int64)
	}
	if d.m[m] < now {
		d.m[m] = now
	}
	d.mu.Unlock()
}

// prune drops the destinations that a pass starting at take over every
// flow did not see and no upcall noted recently: a flow the pass missed
// was installed after it started, by an upcall that noted its destination
// at most verifiedMargin before (plus dstRenote when it was fresh).
func (d *dstSet) prune(take int64) {
	cutoff := take - 2*int64(verifiedMargin)
	d.mu.Lock()
	maps.DeleteFunc(d.m, func(_ uint64, at int64) bool { return at < cutoff })
	d.mu.Unlock()
}

// lastDst remembers a pass's previous destination MAC and what the changed
// map held for it. Flows mostly share a few destinations (the hosts that
// receive), so the previous answer usually decides the next flow without a
// lookup in a map that may hold hundreds of thousands of MACs, and a pass
// notes each run of flows to one destination once.
type lastDst struct {
	mac  [6]byte
	at   int64
	in   bool
	have bool
}

// get returns changed's entry for mac (changed may be nil), looking it up
// only when mac is not the previous call's; isNew reports that it was not.
func (l *lastDst) get(changed map[uint64]int64, mac [6]byte) (at int64, in, isNew bool) {
	if !l.have || mac != l.mac {
		l.at, l.in = changed[maclearn.MACBits(mac)]
		l.mac, l.have, isNew = mac, true, true
	}
	return l.at, l.in, isNew
}

// learnClass is what a translation's learning depends on besides the
// snapshot: the key without its source MAC. The translation learns only
// the source MAC, so flows of one class learn their own source MACs at the
// same (bridge, VLAN, port) places.
type learnClass struct {
	inPort   uint32
	vlan     [2]datapath.VLANTag
	dst      [6]byte
	srcMcast bool // a multicast source is never learned
	srcIsDst bool // changes the lookup of the destination
}

func classOf(key *datapath.FlowKey) learnClass {
	return learnClass{
		inPort:   key.InPort,
		vlan:     key.VLAN,
		dst:      key.EthDst,
		srcMcast: isMulticast(key.EthSrc),
		srcIsDst: key.EthSrc == key.EthDst,
	}
}

// learnSite is one place a translation learns its source MAC.
type learnSite struct {
	br   *xbridge
	vlan uint16
	port uint32
}

// learnTemplate is what the translations of one learnClass learn. ok is
// false when it cannot be told without translating each flow (the in_port
// is not configured: the flow must be translated to be deleted).
type learnTemplate struct {
	ok    bool
	n     int
	sites [maxRecorded]learnSite
}

// learnMemo is a periodic pass's templates, by class.
type learnMemo struct {
	snap *snapshot
	now  time.Time // the pass's start, for aging
	last learnClass
	cur  learnTemplate
	have bool
	m    map[learnClass]learnTemplate
}

func (m *learnMemo) reset(s *snapshot, now time.Time) {
	m.snap, m.now, m.have = s, now, false
	clear(m.m)
}

// refreshLearned refreshes the MACs that key's translation would learn,
// at the flow's last hit used (Unix ns), without translating key unless it
// is the first of its class in this pass. It reports false when the flow
// must be translated instead (the snapshot changed during the pass, or
// the class has no template).
func (x *Xlate) refreshLearned(m *learnMemo, key *datapath.FlowKey, used int64) bool {
	if x.snap.Load() != m.snap {
		return false
	}
	cl := classOf(key)
	if !m.have || cl != m.last {
		t, ok := m.m[cl]
		if !ok {
			t = x.learnTemplateOf(m.snap, key)
			if m.m == nil {
				m.m = make(map[learnClass]learnTemplate)
			}
			m.m[cl] = t
		}
		m.last, m.cur, m.have = cl, t, true
	}
	if !m.cur.ok {
		return false
	}
	at := time.Unix(0, used)
	changed := false
	for _, st := range m.cur.sites[:m.cur.n] {
		if st.br.ml.RefreshAt(st.vlan, key.EthSrc, st.port, at, m.now) {
			changed = true
		}
	}
	if changed {
		x.notify()
	}
	return true
}

// learnTemplateOf translates key, without side effects, for where it
// learns.
func (x *Xlate) learnTemplateOf(s *snapshot, key *datapath.FlowKey) learnTemplate {
	in := s.byDP[key.InPort]
	if in == nil {
		return learnTemplate{}
	}
	c := x.getCtx()
	defer x.putCtx(c)
	c.init(s, key, learnRecord)
	c.translate(in, origStack(key))
	var t learnTemplate
	for _, ev := range c.recorded[:c.nrec] {
		if ev.mac != key.EthSrc {
			return learnTemplate{} // not this translation's source: translate each
		}
		t.sites[t.n] = learnSite{br: ev.br, vlan: ev.vlan, port: ev.port}
		t.n++
	}
	t.ok = true
	return t
}
