// Package maclearn is gvswitch's MAC learning table, the counterpart of Open
// vSwitch's lib/mac-learning: one Table per bridge maps (VLAN, MAC) to the
// OpenFlow port the address was last seen on.
//
// It owns learning, MAC moves, idle aging (Bridge other_config:mac-aging-time),
// the size limit (other_config:mac-table-size) with Open vSwitch's fair
// eviction (a full table evicts the least recently used entry of the port
// with the most entries, so a port sending from 100k source addresses churns
// only its own entries and the hosts on other ports stay known), static
// entries (fdb/add, fdb/del; as in OVS 3.1 a full table may evict them), the
// fdb/show and fdb/stats-show texts, and a version counter that changes
// whenever a lookup could answer differently, so that revalidation knows when
// installed megaflows may be stale.
//
// Locking: lookups and the common "already learned here" case take a read
// lock only; inserting, moving, evicting and aging take the write lock. The
// table is used from upcall handlers (the slow path), never per packet on the
// datapath's hit path. It imports nothing from gvswitch and starts no
// goroutines; the caller drives aging with Expire.
package maclearn
