package datapath

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// The megaflow classifier is a tuple space search, as in Open vSwitch's
// dpcls: one hash table (subtable) per distinct mask, searched in order of
// hits until one matches. There is one classifier per in_port, so a poll
// goroutine only reads the classifier of its own port and its hit counters
// are not shared between CPUs.
//
// Concurrency: readers (poll goroutines) never lock. The subtable list is an
// immutable slice published through an atomic pointer; each subtable's hash
// table is an array of atomic flow pointers with linear probing. Writers
// (upcall installs, FlowPut/FlowDel, Revalidate, the sweeper) hold the
// classifier's mutex; they fill an empty slot with a fully built flow, turn a
// deleted flow's slot into a tombstone, and publish a rebuilt table when it
// must grow or has too many tombstones. A reader still holding an old table
// only sees flows that are either live or flagged dead, never a half-built
// one. Copying the whole table on every insert (pure RCU) was rejected: at
// 100k flows an install would copy megabytes.

// tombstone marks a slot whose flow was deleted; probing continues past it.
var tombstone = &flow{}

const (
	minTableSlots = 16
	// Tables grow past 3/4 occupancy (live flows plus tombstones), which
	// keeps linear-probe chains short.
	loadNum, loadDen = 3, 4
)

// flowTable is one generation of a subtable's hash table. Each slot keeps
// the flow's hash next to the pointer, so a probe that meets another flow
// rejects it without touching that flow's memory. Writers store the hash
// before the pointer; readers verify the key anyway, so a torn view of a
// reused slot can only cost a miss.
type flowTable struct {
	slots []slot
	mask  uint32
}

type slot struct {
	hash atomic.Uint32
	f    atomic.Pointer[flow]
}

func newFlowTable(size int) *flowTable {
	return &flowTable{slots: make([]slot, size), mask: uint32(size - 1)}
}

// subtable holds the flows that share one mask.
type subtable struct {
	mask Mask
	mw   [flowWords]uint64 // mask as words
	idx  []uint8           // indices of the mask's non-zero words

	table atomic.Pointer[flowTable]
	hits  atomic.Uint64 // hits since the last ranking

	// Guarded by the classifier's mu.
	n, tombs int
}

func newSubtable(m *Mask) *subtable {
	st := &subtable{mask: *m, mw: *maskWords(m)}
	for i, w := range st.mw {
		if w != 0 {
			st.idx = append(st.idx, uint8(i))
		}
	}
	st.table.Store(newFlowTable(minTableSlots))
	return st
}

// hash hashes the key's words under the subtable's mask. Each word's
// product is independent of the others, so the multiplies overlap.
func (st *subtable) hash(kw *[flowWords]uint64) uint32 {
	h := uint64(hashK2)
	for _, i := range st.idx {
		h += mum(kw[i]&st.mw[i]^hashK0, uint64(i)+hashK1)
	}
	h = mum(h, hashK2)
	return uint32(h ^ h>>32)
}

// matches reports whether key, masked, equals the flow's (masked) key,
// using the flow's packed words when it has them.
func (st *subtable) matches(kw *[flowWords]uint64, f *flow) bool {
	if len(st.idx) <= packedWords {
		for j, i := range st.idx {
			if kw[i]&st.mw[i] != f.packed[j] {
				return false
			}
		}
		return true
	}
	fw := keyWords(f.key)
	for _, i := range st.idx {
		if kw[i]&st.mw[i] != fw[i] {
			return false
		}
	}
	return true
}

// lookup finds the live flow matching kw, without locks.
func (st *subtable) lookup(kw *[flowWords]uint64) *flow {
	h := st.hash(kw)
	t := st.table.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		f := s.f.Load()
		if f == nil {
			return nil
		}
		if s.hash.Load() == h && f != tombstone && st.matches(kw, f) {
			if f.dead.Load() {
				return nil
			}
			return f
		}
	}
}

// lookupBatch looks up keys[i] for every bit i of todo and returns the
// bitmap of hits, with the flows in out. It works in two passes so that the
// cache misses of different packets overlap, as dpcls's batched cmap
// lookup does with prefetches: the first pass hashes every key and reads
// its home slot, the second verifies the candidates and probes further
// only when the home slot held another flow.
func (st *subtable) lookupBatch(keys *[packet.BatchSize]FlowKey, todo uint32, out *[packet.BatchSize]*flow) uint32 {
	t := st.table.Load()
	var (
		hs    [packet.BatchSize]uint32
		cand  [packet.BatchSize]*flow
		empty uint32 // home slot empty: a sure miss
	)
	for m := todo; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		h := st.hash(keyWords(&keys[i]))
		hs[i] = h
		s := &t.slots[h&t.mask]
		f := s.f.Load()
		if f == nil {
			empty |= 1 << i
		} else if s.hash.Load() == h {
			cand[i] = f
		}
	}
	var hit uint32
	for m := todo &^ empty; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		kw := keyWords(&keys[i])
		f := cand[i]
		if f == nil || f == tombstone || !st.matches(kw, f) {
			f = st.probe(t, kw, hs[i])
		}
		if f != nil && !f.dead.Load() {
			out[i] = f
			hit |= 1 << i
		}
	}
	return hit
}

// probe walks t's chain for hash h and returns the flow matching kw.
func (st *subtable) probe(t *flowTable, kw *[flowWords]uint64, h uint32) *flow {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		f := s.f.Load()
		if f == nil {
			return nil
		}
		if s.hash.Load() == h && f != tombstone && st.matches(kw, f) {
			return f
		}
	}
}

// findLocked returns the flow with exactly this masked key (live or not)
// and its slot index.
func (st *subtable) findLocked(kw *[flowWords]uint64, h uint32) (*flow, uint32) {
	t := st.table.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		f := t.slots[i].f.Load()
		if f == nil {
			return nil, 0
		}
		if f != tombstone && f.hash == h && st.matches(kw, f) {
			return f, i
		}
	}
}

// insertLocked adds f (whose hash is set) to the table, growing it first
// when needed.
func (st *subtable) insertLocked(f *flow) {
	t := st.table.Load()
	if (st.n+st.tombs+1)*loadDen > len(t.slots)*loadNum {
		size := minTableSlots
		for size*loadNum < (st.n+1)*loadDen*2 {
			size *= 2
		}
		t = st.rebuildLocked(t, size)
	}
	for i := f.hash & t.mask; ; i = (i + 1) & t.mask {
		cur := t.slots[i].f.Load()
		if cur == nil || cur == tombstone {
			if cur == tombstone {
				st.tombs--
			}
			t.slots[i].hash.Store(f.hash)
			t.slots[i].f.Store(f)
			st.n++
			return
		}
	}
}

// rebuildLocked copies the live flows of t into a new table of size slots
// and publishes it.
func (st *subtable) rebuildLocked(t *flowTable, size int) *flowTable {
	nt := newFlowTable(size)
	for i := range t.slots {
		f := t.slots[i].f.Load()
		if f == nil || f == tombstone {
			continue
		}
		for j := f.hash & nt.mask; ; j = (j + 1) & nt.mask {
			if nt.slots[j].f.Load() == nil {
				nt.slots[j].hash.Store(f.hash)
				nt.slots[j].f.Store(f)
				break
			}
		}
	}
	st.tombs = 0
	st.table.Store(nt)
	return nt
}

// removeLocked deletes the flow in slot i.
func (st *subtable) removeLocked(i uint32) {
	t := st.table.Load()
	t.slots[i].f.Store(tombstone)
	st.n--
	st.tombs++
	if st.tombs > len(t.slots)/4 && len(t.slots) > minTableSlots {
		size := minTableSlots
		for size*loadNum < (st.n+1)*loadDen*2 {
			size *= 2
		}
		st.rebuildLocked(t, size)
	}
}

// forEach calls fn for every flow in the subtable's current table. It needs
// no lock (readers never do); without the classifier's mutex it may miss
// flows installed meanwhile and report flows deleted meanwhile, which then
// have dead set.
func (st *subtable) forEach(fn func(f *flow)) {
	t := st.table.Load()
	for i := range t.slots {
		if f := t.slots[i].f.Load(); f != nil && f != tombstone {
			fn(f)
		}
	}
}

// classifier is the megaflow table of one in_port.
type classifier struct {
	subs atomic.Pointer[[]*subtable] // ranked by hits, most first

	mu      sync.Mutex // serialises writers
	retired bool       // guarded by mu; set when the port is deleted

	// sweepFloor (Unix ns) is the least recent activity of a live flow
	// at the last idle sweep, or when that sweep began if it was later:
	// no flow of the classifier was idle since before it (see Sweep).
	sweepFloor atomic.Int64
}

func newClassifier() *classifier {
	c := &classifier{}
	c.subs.Store(new([]*subtable))
	return c
}

// lookup searches the subtables in rank order and returns the matching
// flow and the position of its subtable (1-based: the number of subtables
// visited), or nil and the number visited.
func (c *classifier) lookup(kw *[flowWords]uint64) (*flow, int) {
	subs := *c.subs.Load()
	for i, st := range subs {
		if f := st.lookup(kw); f != nil {
			return f, i + 1
		}
	}
	return nil, len(subs)
}

// lookupBatch looks up keys[i] for every bit i of todo, searching the
// subtables in rank order, and returns the bitmap of hits with the flows in
// out. maskHits grows by the number of subtables visited for each hit.
func (c *classifier) lookupBatch(keys *[packet.BatchSize]FlowKey, todo uint32, out *[packet.BatchSize]*flow, maskHits *uint64) uint32 {
	var hits uint32
	for si, st := range *c.subs.Load() {
		if todo == 0 {
			break
		}
		h := st.lookupBatch(keys, todo, out)
		if h != 0 {
			n := bits.OnesCount32(h)
			st.hits.Add(uint64(n))
			*maskHits += uint64(n * (si + 1))
			hits |= h
			todo &^= h
		}
	}
	return hits
}

// subtableLocked returns the subtable for m, creating it when create is set.
func (c *classifier) subtableLocked(m *Mask, create bool) *subtable {
	subs := *c.subs.Load()
	for _, st := range subs {
		if st.mask == *m {
			return st
		}
	}
	if !create {
		return nil
	}
	st := newSubtable(m)
	ns := make([]*subtable, len(subs), len(subs)+1)
	copy(ns, subs)
	ns = append(ns, st)
	c.subs.Store(&ns)
	return st
}

// dropSubtableLocked unpublishes an empty subtable.
func (c *classifier) dropSubtableLocked(st *subtable) {
	subs := *c.subs.Load()
	ns := make([]*subtable, 0, len(subs))
	for _, s := range subs {
		if s != st {
			ns = append(ns, s)
		}
	}
	c.subs.Store(&ns)
}

// rank re-sorts the subtables by hits since the last ranking, most hit
// first, as dpcls does every second, and resets the counters.
func (c *classifier) rank() {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := *c.subs.Load()
	if len(subs) < 2 {
		for _, st := range subs {
			st.hits.Store(0)
		}
		return
	}
	type ranked struct {
		st   *subtable
		hits uint64
	}
	rs := make([]ranked, len(subs))
	for i, st := range subs {
		rs[i] = ranked{st, st.hits.Swap(0)}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		switch {
		case a.hits > b.hits:
			return -1
		case a.hits < b.hits:
			return 1
		}
		return 0
	})
	ns := make([]*subtable, len(rs))
	for i, r := range rs {
		ns[i] = r.st
	}
	c.subs.Store(&ns)
}

// masks returns the number of subtables.
func (c *classifier) masks() int { return len(*c.subs.Load()) }
