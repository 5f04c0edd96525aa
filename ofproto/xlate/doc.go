// Package xlate translates flows that miss the datapath's megaflow cache into
// datapath actions plus a megaflow mask, implementing Open vSwitch's NORMAL
// action (an 802.1Q-aware L2 learning switch), and explains that translation
// with ofproto/trace.
//
// It owns:
//   - the published configuration snapshot (Config, Bridge, Port), built by
//     the vswitchd layer from OVSDB rows and swapped in with an atomic pointer
//     by (*Xlate).Publish, so that upcall handlers never take a lock to read
//     it;
//   - NORMAL translation ((*Xlate).Upcall), which learns source MACs into the
//     per-bridge ofproto/maclearn tables and decides input VLAN, output ports
//     and per-port VLAN edits;
//   - revalidation of installed megaflows against the current snapshot and
//     MAC tables;
//   - ofproto/trace, fdb/show and fdb/flush back ends.
//
// It imports datapath (flow key, mask, actions) and ofproto/maclearn, and
// must not import ovsdb, sockets or netdev providers. It starts no
// goroutines: Upcall runs on the datapath's poll goroutines, Publish and the
// fdb back ends on the caller's.
package xlate
