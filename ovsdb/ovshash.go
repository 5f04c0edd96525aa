package ovsdb

import (
	"encoding/binary"
	"math/bits"
	"sort"
)

// Open vSwitch stores a JSON object's members in a hash map and processes
// them in the map's iteration order; when a row has several bad columns,
// the first one in that order is the one reported. objectOrder reproduces
// that order (bucket by bucket of OVS's hash map, with OVS's string hash),
// so error reports match ovsdb-server's and are deterministic.

func ovsMhashAdd(hash, data uint32) uint32 {
	if data != 0 {
		data *= 0xcc9e2d51
		data = bits.RotateLeft32(data, 15)
		data *= 0x1b873593
		hash ^= data
	}
	hash = bits.RotateLeft32(hash, 13)
	return hash*5 + 0xe6546b64
}

func ovsHashString(s string) uint32 {
	var hash uint32
	n := len(s)
	i := 0
	for ; n-i >= 4; i += 4 {
		hash = ovsMhashAdd(hash, binary.LittleEndian.Uint32([]byte(s[i:i+4])))
	}
	if i < n {
		var tmp [4]byte
		copy(tmp[:], s[i:])
		hash = ovsMhashAdd(hash, binary.LittleEndian.Uint32(tmp[:]))
	}
	hash ^= uint32(n)
	hash ^= hash >> 16
	hash *= 0x85ebca6b
	hash ^= hash >> 13
	hash *= 0xc2b2ae35
	hash ^= hash >> 16
	return hash
}

// calcMask is OVS's hmap bucket mask for a capacity.
func calcMask(capacity int) uint32 {
	m := uint32(capacity / 2)
	m |= m >> 1
	m |= m >> 2
	m |= m >> 4
	m |= m >> 8
	m |= m >> 16
	m |= (m & 1) << 1
	return m
}

// objectOrder returns the members of a JSON object in the order
// ovsdb-server iterates them: it replays OVS's hash map (insertion at the
// head of a bucket, doubling with rehash) assuming the members arrived in
// sorted order, which is how most clients (and all of ours) write them.
func objectOrder(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) < 2 {
		return keys
	}
	sort.Strings(keys)
	type node struct {
		key  string
		hash uint32
	}
	var mask uint32
	buckets := make([][]node, 1)
	for i, k := range keys {
		n := node{k, ovsHashString(k)}
		b := n.hash & mask
		buckets[b] = append([]node{n}, buckets[b]...)
		if uint32((i+1)/2) > mask {
			newMask := calcMask(i + 1)
			nb := make([][]node, newMask+1)
			for _, chain := range buckets {
				for _, n := range chain {
					j := n.hash & newMask
					nb[j] = append([]node{n}, nb[j]...)
				}
			}
			buckets, mask = nb, newMask
		}
	}
	out := keys[:0]
	for _, chain := range buckets {
		for _, n := range chain {
			out = append(out, n.key)
		}
	}
	return out
}
