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
// # Megaflow masks
//
// Translation starts from an all-wildcard mask and un-wildcards exactly
// what NORMAL reads: in_port; the outer VLAN tag's presence and VID (input
// VLAN rules); its PCP and DEI only when a tag is re-pushed or built from a
// priority tag; the second tag's presence (priority-tagged frames on access
// ports) or VID (cvlans of dot1q-tunnel ports) only then; dl_src (learning)
// and dl_dst (lookup, multicast and reserved-address checks). Nothing above
// L2, so every IP/TCP/UDP variant of an L2 flow shares one megaflow; the
// datapath adds eth_type, recirc_id and IP fragment bits itself. Examples:
//
//	untagged unicast p1 -> p2:  in_port=1,vlan(present=no),dl_src=A,dl_dst=B  actions: 2
//	VLAN 10 trunk -> access:    in_port=1,dl_vlan=10,dl_src=A,dl_dst=B         actions: pop_vlan,3
//	VLAN 10 flood, re-push:     in_port=1,dl_vlan=10,dl_vlan_pcp=3,dl_src=A,dl_dst=ff:..  actions: 2,pop_vlan,3,push_vlan(vid=10,pcp=3),4
//
// Revalidation keeps an installed flow when the bits its re-translation
// reads are a subset of the flow's mask, swaps in new actions when they
// changed (MAC learned or moved, port reconfigured), and deletes it
// otherwise.
//
// It imports datapath (flow key, mask, actions) and ofproto/maclearn, and
// must not import ovsdb, sockets or netdev providers. It starts no
// goroutines: Upcall runs on the datapath's poll goroutines, Publish and the
// fdb back ends on the caller's.
package xlate
