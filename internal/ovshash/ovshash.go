// Package ovshash reproduces the iteration order of Open vSwitch's hash maps:
// its 32-bit murmur-style string hash and its chained map that inserts at the
// head of a bucket and doubles when the count exceeds twice the mask. Real
// clients and ovsdb-server process JSON object members and rows in that
// order, so the OVSDB server (which error it reports first) and gvsctl (the
// order ovs-vsctl lists rows in) both need it. It imports nothing from the
// switch.
package ovshash

import (
	"encoding/binary"
	"math/bits"
)

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

// String is Open vSwitch's hash of a string (JSON object member names).
func String(s string) uint32 {
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

type node struct {
	hash uint32
	key  string
	next *node
}

// Map simulates an Open vSwitch hash map's order; the zero value is not
// ready, use New.
type Map struct {
	buckets []*node
	mask    uint32
	n       int
}

// New returns an empty Map.
func New() *Map { return &Map{buckets: make([]*node, 1)} }

// calcMask is the bucket mask Open vSwitch picks for a capacity.
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

func (h *Map) insertFast(n *node) {
	b := n.hash & h.mask
	n.next = h.buckets[b]
	h.buckets[b] = n
}

// Insert adds key with its hash, growing (and rehashing bucket by bucket)
// as Open vSwitch does.
func (h *Map) Insert(hash uint32, key string) {
	h.insertFast(&node{hash: hash, key: key})
	h.n++
	if uint32(h.n/2) > h.mask {
		if nm := calcMask(h.n); nm > h.mask {
			old := h.buckets
			h.buckets = make([]*node, nm+1)
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

// Keys returns the keys in iteration order.
func (h *Map) Keys() []string {
	out := make([]string, 0, h.n)
	for _, head := range h.buckets {
		for n := head; n != nil; n = n.next {
			out = append(out, n.key)
		}
	}
	return out
}
