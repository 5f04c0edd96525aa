package vsctl

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// ovs-vsctl lists rows in the iteration order of its in-memory hash tables,
// not sorted. To print rows in the same order this file models that order
// from observed behaviour: the rows of a table arrive (from
// monitor_cond_since) as members of a JSON object, which the client keeps in
// a hash table keyed by a 32-bit murmur-style hash of the member name; it
// then inserts them, in that table's iteration order, into the row table
// keyed by the first 32 bits of the uuid. Both are chained hash tables that
// insert at the head of a bucket and double their bucket count when the
// element count exceeds twice the mask (rehashing bucket by bucket).

type hnode struct {
	hash uint32
	key  string
	next *hnode
}

type hmapSim struct {
	buckets []*hnode
	mask    uint32
	n       int
}

func newHmapSim() *hmapSim { return &hmapSim{buckets: make([]*hnode, 1)} }

func calcMask(capacity int) uint32 {
	mask := uint32(capacity / 2)
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= (mask & 1) << 1
	return mask
}

func (h *hmapSim) insertFast(n *hnode) {
	b := n.hash & h.mask
	n.next = h.buckets[b]
	h.buckets[b] = n
}

func (h *hmapSim) insert(hash uint32, key string) {
	h.insertFast(&hnode{hash: hash, key: key})
	h.n++
	if uint32(h.n/2) > h.mask {
		if nm := calcMask(h.n); nm > h.mask {
			old := h.buckets
			h.buckets = make([]*hnode, nm+1)
			h.mask = nm
			for _, head := range old {
				for n := head; n != nil; {
					next := n.next
					h.insertFast(n)
					n = next
				}
			}
		}
	}
}

func (h *hmapSim) keys() []string {
	out := make([]string, 0, h.n)
	for _, head := range h.buckets {
		for n := head; n != nil; n = n.next {
			out = append(out, n.key)
		}
	}
	return out
}

func mhashAdd(hash, data uint32) uint32 {
	if data != 0 {
		data *= 0xcc9e2d51
		data = bits.RotateLeft32(data, 15)
		data *= 0x1b873593
		hash ^= data
	}
	hash = bits.RotateLeft32(hash, 13)
	return hash*5 + 0xe6546b64
}

func mhashFinish(hash uint32) uint32 {
	hash ^= hash >> 16
	hash *= 0x85ebca6b
	hash ^= hash >> 13
	hash *= 0xc2b2ae35
	hash ^= hash >> 16
	return hash
}

// hashString is the 32-bit murmur-style hash used for JSON object member
// names.
func hashString(s string) uint32 {
	var hash uint32
	p := []byte(s)
	for len(p) >= 4 {
		hash = mhashAdd(hash, binary.LittleEndian.Uint32(p))
		p = p[4:]
	}
	if len(p) > 0 {
		var tmp [4]byte
		copy(tmp[:], p)
		hash = mhashAdd(hash, binary.LittleEndian.Uint32(tmp[:]))
	}
	return mhashFinish(hash ^ uint32(len(s)))
}

func uuidHash(u string) uint32 {
	if len(u) < 8 {
		return 0
	}
	v, _ := strconv.ParseUint(u[:8], 16, 32)
	return uint32(v)
}

// iterationOrder returns the order ovs-vsctl iterates rows whose uuids
// arrived in textOrder.
func iterationOrder(textOrder []string) []string {
	obj := newHmapSim()
	for _, u := range textOrder {
		obj.insert(hashString(u), u)
	}
	rows := newHmapSim()
	for _, u := range obj.keys() {
		rows.insert(uuidHash(u), u)
	}
	return rows.keys()
}
