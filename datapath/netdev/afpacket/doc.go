// Package afpacket is the netdev provider for kernel network devices (veths,
// NICs, and TAPs owned by another process such as qemu), reached through an
// AF_PACKET socket bound to the device.
//
// Receive has two modes (Options.RxMode), both filling a batch with at most
// one system call:
//
//   - RxRing (default): a TPACKET_V3 memory-mapped ring. The kernel fills
//     blocks of frames and Recv walks the ready blocks without a system
//     call, calling poll(2) only when the ring is empty. The kernel hands a
//     block over when it is full or when BlockTimeout (at least 1 ms)
//     passes, so at low rates each hop adds up to that much latency.
//   - RxMmsg: one non-blocking recvmmsg(2) per batch (what Open vSwitch's
//     netdev-linux does), with the VLAN tag from a PACKET_AUXDATA control
//     message. No added latency; a system call per batch.
//
// In both modes frames end up in a slab the port allocates once, each with
// packet.Headroom in front: the ring's frames are copied out and the block
// goes back to the kernel at once; recvmmsg scatters straight into the slab.
// The rejected alternative for the ring, handing out packets that point
// into it and holding blocks until the next Recv, saves one copy but keeps
// blocks from the kernel for a whole datapath pass and makes Close unsafe
// (unmapping the ring under a packet still being forwarded); copying a
// 64-byte frame costs less than the cache miss on its header.
//
// Offloads: the socket asks for PACKET_VNET_HDR, so checksum-partial and GSO
// frames pass through whole with their virtio-net header in
// packet.Offload; when the kernel refuses it the port logs once and works
// without it, finishing checksums and segmenting in software on transmit
// (datapath/offload); a checksum-partial frame it still receives
// (TP_STATUS_CSUMNOTREADY) is marked for a software finish, and one larger
// than the MTU for software segmentation. A VLAN tag the kernel stripped on
// receive (in the ring's frame header, or in PACKET_AUXDATA) is put back
// between the MAC addresses and the EtherType, in the port's own buffer.
//
// Transmit is one sendmmsg(2) per batch, with PACKET_QDISC_BYPASS. Frames the
// port itself sends are not received back (PACKET_IGNORE_OUTGOING, and a
// PACKET_OUTGOING check on receive for kernels without it).
//
// Goroutines: Recv is called only by the port's poll goroutine; Send may be
// called from any goroutine and is serialised by a mutex taken once per
// batch; Stats and Close may be called from anywhere. Close wakes a blocked
// Recv through an eventfd.
//
// This package imports only datapath/packet, datapath/netdev and
// datapath/offload from the switch.
package afpacket
