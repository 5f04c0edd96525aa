package datapath

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the megaflow table operations: installation (from
// upcalls and FlowPut), deletion, dumps, revalidation and idle expiry. The
// lookup side is classifier.go (megaflows) and emc.go.

// flow is an installed megaflow: 128 bytes, two cache lines. The first
// holds everything a classifier lookup reads (hash, dead flag, the masked
// key words packed in subtable order, the actions), the second the
// counters a hit updates and the cold fields. 128 is a size class, so the
// allocator keeps flows aligned on 128 bytes, and the CPU's adjacent-line
// prefetcher fetches both lines on one miss. The full masked key, needed
// only by dumps, revalidation and masks of more than packedWords words,
// lives in its own allocation, which keeps 100k flows' hot data at 12.8 MB
// instead of 38 MB.
type flow struct {
	// Line 0: lookup.
	hash   uint32 // key's hash under the subtable's mask
	dead   atomic.Bool
	packed [packedWords]uint64 // key words at sub.idx, when len(sub.idx) <= packedWords
	prog   atomic.Pointer[program]

	// Line 1: hit counters, then cold fields.
	packets  atomic.Uint64
	bytes    atomic.Uint64
	used     atomic.Int64 // Unix ns of the last hit; 0 = never
	tcpFlags atomic.Uint32
	_        uint32
	sub      *subtable
	key      *FlowKey // masked
	created  int64    // Unix ns
	seq      uint64   // installation order, for dumps
}

// packedWords is how many masked key words a flow keeps in its first cache
// line: 8 bytes of hash and flag, 6 words, 8 bytes of actions pointer.
// NORMAL's masks use 4 words (in_port, eth_type, MACs, outer VLAN), 5 for
// IP (the fragment state).
const packedWords = 6

// install adds a megaflow to c, or finds the identical one (same masked key
// and mask) and, when replace is set, gives it prog. It returns the flow,
// or ErrFlowLimit. created (Unix ns) is the new flow's creation time: when
// the upcall that translated it began, so that a revalidator can tell
// whether its translation could have seen a change (see FlowEntry.Created).
func (dp *Datapath) install(c *classifier, key *FlowKey, mask *Mask, prog *program, replace bool, created int64) (*flow, error) {
	m := *mask
	normalizeMask(key, &m)
	mk := key.Masked(&m)
	kw := keyWords(&mk)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retired {
		return nil, errRetired
	}
	st := c.subtableLocked(&m, true)
	h := st.hash(kw)
	if f, _ := st.findLocked(kw, h); f != nil {
		if replace {
			f.prog.Store(prog)
		}
		return f, nil
	}
	if dp.nflows.Load() >= dp.flowLimit.Load() {
		if st.n == 0 {
			c.dropSubtableLocked(st)
		}
		return nil, ErrFlowLimit
	}
	f := &flow{hash: h, key: &mk, sub: st, created: created, seq: dp.seq.Add(1)}
	if len(st.idx) <= packedWords {
		for j, i := range st.idx {
			f.packed[j] = kw[i]
		}
	}
	f.prog.Store(prog)
	st.insertLocked(f)
	dp.nflows.Add(1)
	return f, nil
}

// normalizeMask un-wildcards what every megaflow matches, as Open vSwitch
// does (xlate_wc_init and dpif-netdev's upcall path): in_port, recirc_id and
// eth_type always, the fragment state of IP packets, and the presence and
// VID of the outer VLAN tag when the mask leaves the tag out entirely.
func normalizeMask(k *FlowKey, m *Mask) {
	m.InPort = ExactU32
	m.RecircID = ExactU32
	m.EthType = ExactU16
	if k.EthType == EthTypeIPv4 || k.EthType == EthTypeIPv6 {
		m.NwFrag = FragAny | FragLater
	}
	if m.VLAN[0] == (VLANTag{}) {
		m.VLAN[0] = VLANTag{TPID: ExactU16, TCI: 0x0fff}
	}
}

// removeLocked deletes f from c; c.mu is held.
func (dp *Datapath) removeLocked(c *classifier, f *flow) {
	st := f.sub
	t := st.table.Load()
	for i := f.hash & t.mask; ; i = (i + 1) & t.mask {
		cur := t.slots[i].f.Load()
		if cur == nil {
			return // not in the table: already removed
		}
		if cur == f {
			f.dead.Store(true)
			st.removeLocked(i)
			dp.nflows.Add(-1)
			if st.n == 0 {
				c.dropSubtableLocked(st)
			}
			return
		}
	}
}

// flushClassifier deletes every flow of c. With retire set (DelPort), c also stops accepting installs, so that a
// FlowPut racing with the deletion cannot leave flows in a classifier no
// port uses.
func (dp *Datapath) flushClassifier(c *classifier, retire bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if retire {
		c.retired = true
	}
	n := 0
	for _, st := range *c.subs.Load() {
		st.forEach(func(f *flow) {
			f.dead.Store(true)
			n++
		})
	}
	c.subs.Store(new([]*subtable))
	dp.nflows.Add(int64(-n))
}

// classifiers returns the current classifiers.
func (dp *Datapath) classifiers() []*classifier {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	out := make([]*classifier, 0, len(dp.cls))
	for _, c := range dp.cls {
		out = append(out, c)
	}
	return out
}

// FlowPut installs a megaflow matching key under mask with actions (the
// mask is first widened as normalizeMask says: in_port, recirc_id, eth_type,
// IP fragment state and, when the mask omits VLANs, VLAN presence+VID are
// always matched), or replaces the actions of an identical
// megaflow (same masked key and mask), keeping its stats. The datapath keeps
// actions; the caller must not modify them afterwards. Errors wrap
// ErrFlowLimit.
func (dp *Datapath) FlowPut(key *FlowKey, mask *Mask, actions Actions) error {
	dp.mu.Lock()
	if dp.closed {
		dp.mu.Unlock()
		return fmt.Errorf("flow put: %w", ErrDatapathClosed)
	}
	c := dp.classifierLocked(key.InPort)
	dp.mu.Unlock()
	_, err := dp.install(c, key, mask, dp.progs.get(actions), true, dp.nowNs())
	if errors.Is(err, errRetired) {
		// The port was deleted meanwhile; its number now gets a fresh
		// classifier, as for a port not added yet.
		return dp.FlowPut(key, mask, actions)
	}
	if err != nil {
		return fmt.Errorf("flow put: %w", err)
	}
	return nil
}

// errRetired is returned by install for a classifier whose port was deleted.
var errRetired = errors.New("in_port deleted")

// FlowDel deletes the megaflow with this key and mask and invalidates the
// EMC entries that point at it. Errors wrap ErrNoSuchFlow.
func (dp *Datapath) FlowDel(key *FlowKey, mask *Mask) error {
	dp.mu.Lock()
	c := dp.cls[key.InPort]
	dp.mu.Unlock()
	if c == nil {
		return fmt.Errorf("flow del: %w", ErrNoSuchFlow)
	}
	m := *mask
	normalizeMask(key, &m)
	mk := key.Masked(&m)
	kw := keyWords(&mk)
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.subtableLocked(&m, false)
	if st == nil {
		return fmt.Errorf("flow del: %w", ErrNoSuchFlow)
	}
	f, _ := st.findLocked(kw, st.hash(kw))
	if f == nil {
		return fmt.Errorf("flow del: %w", ErrNoSuchFlow)
	}
	dp.removeLocked(c, f)
	return nil
}

// FlowGet returns the megaflow with exactly this key and mask (after the
// same normalisation as FlowPut). Errors wrap ErrNoSuchFlow.
func (dp *Datapath) FlowGet(key *FlowKey, mask *Mask) (FlowEntry, error) {
	dp.mu.Lock()
	c := dp.cls[key.InPort]
	dp.mu.Unlock()
	if c != nil {
		m := *mask
		normalizeMask(key, &m)
		mk := key.Masked(&m)
		kw := keyWords(&mk)
		for _, st := range *c.subs.Load() {
			if st.mask != m {
				continue
			}
			if f := st.probe(st.table.Load(), kw, st.hash(kw)); f != nil && !f.dead.Load() {
				return f.entry(), nil
			}
		}
	}
	return FlowEntry{}, fmt.Errorf("flow get: %w", ErrNoSuchFlow)
}

// Lookup returns the megaflow a packet with this key would hit (the
// classifier of key.InPort, bypassing the EMC and without counting), as
// tracing tools want it; ok is false for a miss.
func (dp *Datapath) Lookup(key *FlowKey) (e FlowEntry, ok bool) {
	dp.mu.Lock()
	c := dp.cls[key.InPort]
	dp.mu.Unlock()
	if c == nil {
		return FlowEntry{}, false
	}
	f, _ := c.lookup(keyWords(key))
	if f == nil {
		return FlowEntry{}, false
	}
	return f.entry(), true
}

// entry builds f's FlowEntry.
func (f *flow) entry() FlowEntry {
	e := FlowEntry{
		Key:     *f.key,
		Mask:    f.sub.mask,
		Actions: f.prog.Load().acts,
		Stats: FlowStats{
			Packets:  f.packets.Load(),
			Bytes:    f.bytes.Load(),
			TCPFlags: uint16(f.tcpFlags.Load()),
		},
		Created: time.Unix(0, f.created),
		ID:      f.seq,
	}
	if u := f.used.Load(); u != 0 {
		e.Stats.Used = time.Unix(0, u)
	}
	return e
}

// snapshot returns every live flow, sorted by in_port then installation
// when sorted is set.
func (dp *Datapath) snapshot(sorted bool) []*flow {
	var out []*flow
	for _, c := range dp.classifiers() {
		for _, st := range *c.subs.Load() {
			st.forEach(func(f *flow) {
				if !f.dead.Load() {
					out = append(out, f)
				}
			})
		}
	}
	if !sorted {
		return out
	}
	slices.SortFunc(out, func(a, b *flow) int {
		if a.key.InPort != b.key.InPort {
			return cmp.Compare(a.key.InPort, b.key.InPort)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

// FlowDump returns a snapshot of every installed megaflow with its stats,
// sorted by in_port then installation order.
func (dp *Datapath) FlowDump() []FlowEntry {
	fs := dp.snapshot(true)
	out := make([]FlowEntry, len(fs))
	for i, f := range fs {
		out[i] = f.entry()
	}
	return out
}

// FlowFlush deletes every megaflow.
func (dp *Datapath) FlowFlush() {
	for _, c := range dp.classifiers() {
		dp.flushClassifier(c, false)
	}
}

// RevalidateFunc decides the fate of one megaflow; see Revalidate. The
// entry is valid only during the call.
type RevalidateFunc func(f *FlowEntry) (actions Actions, keep bool)

// Revalidate calls fn for every installed megaflow. fn returns the actions
// the flow should have now and whether to keep it: a flow not kept is
// deleted (and leaves every EMC), a kept flow whose actions differ gets the
// new ones atomically, without losing its stats or EMC entries. It returns
// how many flows were modified and deleted. fn runs without datapath locks
// held but must not call Revalidate itself.
func (dp *Datapath) Revalidate(fn RevalidateFunc) (modified, deleted int) {
	return dp.RevalidateWhere(nil, fn)
}

// FlowCount returns the number of installed megaflows (cheaper than Stats).
func (dp *Datapath) FlowCount() int { return int(dp.nflows.Load()) }

// revalBufs recycles the flow lists of revalidation passes: a list of
// 100k flows is 800 KB, and allocating it (and its growth) every pass made
// each pass allocate several MB, which the garbage collector then had to
// reclaim on the CPUs that forward.
var revalBufs sync.Pool // of *[]*flow

// RevalidateWhere is Revalidate for the flows whose masked key match
// accepts: an incremental pass after a change that only some flows can
// depend on (a MAC table entry: the flows to that destination MAC). match
// sees each flow's masked key without a FlowEntry being built (rebuilt
// from the flow's first cache line, see revalidateMatching) and must not
// keep or modify it; only the flows it accepts cost a FlowEntry and a call
// of fn.
// A nil match accepts every flow.
func (dp *Datapath) RevalidateWhere(match func(key *FlowKey) bool, fn RevalidateFunc) (modified, deleted int) {
	if match == nil {
		return dp.revalidateMatching(nil, true, fn)
	}
	return dp.revalidateMatching(func(_ *flow, key *FlowKey) bool { return match(key) }, false, fn)
}

// RevalidateUnless is Revalidate for the flows that skip does not pass
// over. skip sees each flow's installation and last-hit times (Unix ns by
// Options.Now; used is 0 for a flow never hit) and its masked key in place,
// before anything is copied, and must not keep or modify the key. A
// periodic pass uses it to leave alone, at the cost of reading two
// counters, the flows that cannot need it (idle and already verified):
// building a FlowEntry costs a cache miss on the flow and another on its
// key, and skip sees the key rebuilt from the flow's first cache line (see
// revalidateMatching), valid only during the call.
func (dp *Datapath) RevalidateUnless(skip func(created, used int64, key *FlowKey) bool, fn RevalidateFunc) (modified, deleted int) {
	return dp.revalidateMatching(func(f *flow, key *FlowKey) bool {
		return !skip(f.created, f.used.Load(), key)
	}, true, fn)
}

// revalidateMatching runs fn over the live flows that match accepts (all
// when match is nil); many says most flows may be accepted.
//
// match sees the flow's masked key rebuilt from the words the flow keeps in
// its first cache line when the mask has at most packedWords non-zero
// words (NORMAL's masks have 4 or 5), so that deciding costs no cache miss
// on the key itself: with 100k flows that miss was a third of a periodic
// pass that passes over most of them.
func (dp *Datapath) revalidateMatching(match func(f *flow, key *FlowKey) bool, many bool, fn RevalidateFunc) (modified, deleted int) {
	buf, _ := revalBufs.Get().(*[]*flow)
	if buf == nil {
		buf = new([]*flow)
	}
	fs := (*buf)[:0]
	if many {
		fs = slices.Grow(fs, int(dp.nflows.Load()))
	}
	k := new(FlowKey)
	kw := keyWords(k)
	for _, c := range dp.classifiers() {
		for _, st := range *c.subs.Load() {
			// Every flow of st has the words outside st.idx zero
			// (the key is masked): clear them once per subtable.
			packed := len(st.idx) <= packedWords
			*k = FlowKey{}
			st.forEach(func(f *flow) {
				if f.dead.Load() {
					return
				}
				if match != nil {
					key := f.key
					if packed {
						for j, i := range st.idx {
							kw[i] = f.packed[j]
						}
						key = k
					}
					if !match(f, key) {
						return
					}
				}
				fs = append(fs, f)
			})
		}
	}
	modified, deleted = dp.revalidate(fs, fn)
	// Drop the references, so that the pool keeps no deleted flow alive.
	clear(fs)
	*buf = fs[:0]
	revalBufs.Put(buf)
	return modified, deleted
}

func (dp *Datapath) revalidate(fs []*flow, fn RevalidateFunc) (modified, deleted int) {
	// One entry, refilled for every flow: fn must not keep it. This keeps
	// a pass over 100k flows from allocating 100k entries every second.
	e := new(FlowEntry)
	for _, f := range fs {
		*e = f.entry()
		acts, keep := fn(e)
		if f.dead.Load() {
			continue
		}
		if !keep {
			if dp.deleteFlow(f) {
				deleted++
			}
			continue
		}
		if !slices.EqualFunc(acts, e.Actions, actionEqual) {
			f.prog.Store(dp.progs.get(acts))
			modified++
		}
	}
	return modified, deleted
}

func actionEqual(a, b Action) bool {
	return a.Kind == b.Kind && a.TPID == b.TPID && a.TCI == b.TCI &&
		a.TCIMask == b.TCIMask && a.Port == b.Port && string(a.Data) == string(b.Data)
}

// deleteFlow removes f from its in_port's classifier, reporting whether it
// was still there.
func (dp *Datapath) deleteFlow(f *flow) bool {
	dp.mu.Lock()
	c := dp.cls[f.key.InPort]
	dp.mu.Unlock()
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.dead.Load() {
		return false
	}
	dp.removeLocked(c, f)
	return true
}

// Sweep deletes flows idle for longer than MaxIdle (or, when the flow count
// exceeds FlowLimit, idle for 100 ms as Open vSwitch does) and returns how
// many it deleted. The sweeper goroutine calls it every SweepInterval.
func (dp *Datapath) Sweep() int {
	idle := time.Duration(dp.maxIdle.Load())
	if dp.nflows.Load() > dp.flowLimit.Load() {
		idle = overLimitIdle
	}
	now := dp.nowNs()
	cutoff := now - int64(idle)
	n := 0
	for _, c := range dp.classifiers() {
		// A flow's last activity only grows, and flows installed after
		// a scan began were created after it: when the least recent
		// activity the last scan found is after the cutoff, no flow of
		// c can be stale yet. With 100k flows that all keep forwarding
		// a scan costs two cache misses per flow (several ms every
		// SweepInterval, taken from the forwarding threads on a small
		// machine); this skips it until the oldest one could expire.
		if cutoff < c.sweepFloor.Load() {
			continue
		}
		floor := now
		// Scan without the lock, so that installs on this port's poll
		// goroutine do not wait for a scan of every flow; lock only to
		// delete.
		var stale []*flow
		for _, st := range *c.subs.Load() {
			st.forEach(func(f *flow) {
				last := f.used.Load()
				if last == 0 {
					last = f.created
				}
				if f.dead.Load() {
					return
				}
				if last < cutoff {
					stale = append(stale, f)
				} else if last < floor {
					floor = last
				}
			})
		}
		c.sweepFloor.Store(floor)
		if len(stale) == 0 {
			continue
		}
		c.mu.Lock()
		for _, f := range stale {
			if !f.dead.Load() {
				dp.removeLocked(c, f)
				n++
			}
		}
		c.mu.Unlock()
	}
	return n
}
