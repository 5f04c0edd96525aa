// Package afpacket is the netdev provider for kernel network devices (veths,
// NICs, and TAPs owned by another process such as qemu), reached through an
// AF_PACKET socket bound to the device.
//
// Receive uses a TPACKET_V3 memory-mapped ring: the kernel fills blocks of
// frames and Recv walks the ready blocks without a system call, calling
// poll(2) only when the ring is empty. Frames are copied out of the ring into
// a slab that the port allocates once, each with packet.Headroom in front, and
// the block goes back to the kernel as soon as it is walked. The rejected
// alternative, handing out packets that point into the ring and holding the
// blocks until the next Recv, saves one copy but lets a block stay with user
// space for a whole datapath pass, and makes Close unsafe (unmapping the ring
// under a packet still being forwarded); a copy of a 64-byte frame costs
// less than the cache miss on its header.
//
// Offloads: the socket asks for PACKET_VNET_HDR, so checksum-partial and GSO
// frames pass through whole with their virtio-net header in
// packet.Offload; when the kernel refuses it the port logs once and works
// without it, finishing checksums and segmenting in software on transmit
// (datapath/offload). A VLAN tag the kernel stripped on receive (reported in
// the ring header, the ring's form of PACKET_AUXDATA) is put back into the
// frame in front of the L3 header, using the packet's headroom.
//
// Transmit is one sendmmsg(2) per batch, with PACKET_QDISC_BYPASS. Frames the
// port itself sends are not received back (PACKET_IGNORE_OUTGOING, and a
// PACKET_OUTGOING check in the ring walk for kernels without it).
//
// Goroutines: Recv is called only by the port's poll goroutine; Send may be
// called from any goroutine and is serialised by a mutex taken once per
// batch; Stats and Close may be called from anywhere. Close wakes a blocked
// Recv through an eventfd.
//
// This package imports only datapath/packet, datapath/netdev and
// datapath/offload from the switch.
package afpacket
