package ovsdb

import (
	"sort"

	"github.com/gvswitch/gvswitch/internal/ovshash"
)

// Open vSwitch stores a JSON object's members in a hash map and processes
// them in the map's iteration order; when a row has several bad columns,
// the first one in that order is the one reported. objectOrder reproduces
// that order with internal/ovshash, so error reports match ovsdb-server's
// and are deterministic.

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
	h := ovshash.New()
	for _, k := range keys {
		h.Insert(ovshash.String(k), k)
	}
	return h.Keys()
}
