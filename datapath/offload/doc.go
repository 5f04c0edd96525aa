// Package offload owns the virtio-net header and the software fallbacks for
// the offloads it describes: finishing a CHECKSUM_PARTIAL frame (Checksum)
// and splitting a TSO/USO frame into MTU-sized frames (Segment). It also
// defines Caps, the capability bitset a provider probes once at open.
//
// Everything here is a pure function on byte slices and packet.Offload
// values: no sockets, no goroutines, no package state, no allocation on the
// packet path (Segment allocates only when the caller passes no scratch
// buffer). Functions that look at packet bytes report malformed input with a
// false result, never a panic or an error value.
//
// This package imports only datapath/packet from the switch.
package offload
