// Package vlan holds 802.1Q and 802.1ad tag handling as pure functions on
// byte slices, and the port VLAN modes of Open vSwitch (access, trunk,
// native-tagged, native-untagged, dot1q-tunnel) as pure decision functions.
//
// Tag functions (tag.go) parse, insert, remove and rewrite tags in place in
// an Ethernet frame; they never allocate except AppendPush. Mode functions
// (mode.go) take a port's configuration and a frame's tags and say which
// VLAN the frame belongs to inside the switch (Ingress), which tags it must
// carry when it leaves through a port (Egress), and which tag edits turn one
// tag stack into another (Edits). ofproto's translation calls them; the
// datapath calls the tag functions when it executes VLAN actions.
//
// The package imports nothing from the switch and keeps no state.
package vlan
