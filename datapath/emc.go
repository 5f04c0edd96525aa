package datapath

// emc is a poll goroutine's exact-match cache, as dpif-netdev's EMC: a
// fixed array of full keys with a pointer to the megaflow each one matched.
// Only its poll goroutine touches it, so it has no locks. An entry is valid
// while its flow is not dead; deleting a flow flags it dead, which
// invalidates every EMC entry pointing at it without visiting the caches.
//
// Each key has two candidate slots, indexed by two segments of its 32-bit
// hash (2-way, as OVS does). Keys are inserted with probability 1/invProb so
// that a flood of short flows does not thrash the cache; a lookup that
// finds a dead entry clears it.
type emc struct {
	entries []emcEntry
	size    int // entries when enabled
	mask    uint32
	shift   uint32 // bits per index segment
	invProb uint32 // 0: disabled, 1: always insert
	rng     uint32
}

type emcEntry struct {
	flow *flow
	hash uint32
	key  FlowKey
}

// newEMC returns a cache of size entries (rounded up to a power of two,
// at least 2) inserting with probability 1/invProb; invProb <= 0 disables
// it. The entries are allocated by ensure, on first use.
func newEMC(size, invProb int) emc {
	n, shift := 2, uint32(1)
	for n < size {
		n *= 2
		shift++
	}
	e := emc{size: n, mask: uint32(n - 1), shift: shift, rng: 0x9e3779b9}
	e.setInvProb(invProb)
	return e
}

// setInvProb changes the insertion probability; <= 0 disables the cache
// and drops its entries.
func (e *emc) setInvProb(invProb int) {
	if invProb <= 0 {
		e.invProb, e.entries = 0, nil
		return
	}
	e.invProb = uint32(invProb)
}

// ensure allocates the entries on first use: there is one EMC per port
// (8192 entries are 1.4 MB), and ports whose traffic never needs it (one
// mask, see emcPolicy) should not pay for it.
func (e *emc) ensure() {
	if e.entries == nil && e.invProb != 0 {
		e.entries = make([]emcEntry, e.size)
	}
}

// lookup returns the live flow cached for key, or nil.
func (e *emc) lookup(k *FlowKey, h uint32) *flow {
	if e.invProb == 0 {
		return nil
	}
	for _, i := range [2]uint32{h & e.mask, (h >> e.shift) & e.mask} {
		ent := &e.entries[i]
		if ent.flow != nil && ent.hash == h && ent.key == *k {
			if ent.flow.dead.Load() {
				ent.flow = nil
				return nil
			}
			return ent.flow
		}
	}
	return nil
}

// insert caches key -> f with probability 1/invProb.
func (e *emc) insert(k *FlowKey, h uint32, f *flow) {
	if e.invProb == 0 {
		return
	}
	if e.invProb > 1 {
		// xorshift32: cheap, and good enough to spread insertions.
		x := e.rng
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		e.rng = x
		if x%e.invProb != 0 {
			return
		}
	}
	i1, i2 := h&e.mask, (h>>e.shift)&e.mask
	slot := &e.entries[i1]
	if s2 := &e.entries[i2]; slot.flow != nil && !slot.flow.dead.Load() &&
		(s2.flow == nil || s2.flow.dead.Load() || (s2.hash == h && s2.key == *k)) {
		slot = s2
	}
	slot.flow, slot.hash, slot.key = f, h, *k
}
