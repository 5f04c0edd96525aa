package vsctl

import (
	"strconv"

	"github.com/gvswitch/gvswitch/internal/ovshash"
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
	obj := ovshash.New()
	for _, u := range textOrder {
		obj.Insert(ovshash.String(u), u)
	}
	rows := ovshash.New()
	for _, u := range obj.Keys() {
		rows.Insert(uuidHash(u), u)
	}
	return rows.Keys()
}
