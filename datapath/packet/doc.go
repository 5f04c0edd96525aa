// Package packet owns the packet buffer and the batch that every layer of the
// fast path passes around: netdev providers fill batches, the datapath
// classifies and edits them in place, and providers transmit them.
//
// A Packet is a window [start, end) into a buffer that the receiving port
// owns, with Headroom bytes reserved in front so that VLAN push and tunnel
// encapsulation never have to copy the frame. A Batch is a fixed array of
// packet pointers plus a count; it is created once per poll loop and reset,
// never reallocated.
//
// This package imports nothing from the switch.
package packet
