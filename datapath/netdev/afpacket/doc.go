// Package afpacket is the netdev provider for kernel network devices (veths,
// NICs, and TAPs owned by another process such as qemu), reached through an
// AF_PACKET socket bound to the device.
//
// Receive has three modes (Options.RxMode), each filling a batch with at
// most one system call:
//
//   - RxFrameRing (the default, RxDefault): a TPACKET_V2 memory-mapped ring
//     of 2 KiB frames, each with its own status word. Recv walks ready
//     frames without a system call, copies each into the port's slab and
//     hands it back at once, and sleeps in poll(2) only when the ring is
//     empty; the kernel wakes it for every frame, so no latency is added.
//     Frames larger than a ring frame (GSO frames from a local TCP stack,
//     jumbo frames) are queued whole on the socket by the kernel
//     (PACKET_COPY_THRESH; the ring frame says TP_STATUS_COPY) and read with
//     one recvmmsg each, in ring order. The VLAN tag comes from the frame
//     header (tp_vlan_tci, tp_vlan_tpid). An adaptive busy poll
//     (Options.BusyPoll, 50 µs) keeps checking the ring instead of
//     sleeping while frames arrive faster than that, which saves the sleep
//     and cross-CPU wakeup every few frames; an idle port never spins.
//   - RxRing: a TPACKET_V3 ring of 256 KiB blocks packed with frames. The
//     cheapest walk per frame, but the kernel hands a block over only when
//     it is full or when its retire timer (BlockTimeout, at least 1 ms, in
//     jiffies: up to 4 ms at HZ=250) fires, so at low rates every hop adds
//     1-4 ms.
//   - RxMmsg: one non-blocking recvmmsg(2) per batch (what Open vSwitch's
//     netdev-linux does), with the VLAN tag from a PACKET_AUXDATA control
//     message. No added latency, but every frame costs a socket-queue
//     round trip in the kernel.
//
// In every mode frames end up in a slab the port allocates once, each with
// packet.Headroom in front: ring frames are copied out and the frame or
// block goes back to the kernel at once; recvmmsg scatters straight into
// the slab. Handing out packets that point into the ring instead would save
// one copy but keep ring space from the kernel for a whole datapath pass
// and make Close unsafe (unmapping the ring under a packet still being
// forwarded); copying a 64-byte frame costs less than the cache miss on its
// header.
//
// The default was chosen by measurement (BenchmarkCompareModes, modes back
// to back; 2-vCPU KVM guest, kernel 6.18, load average 15-20 from other
// tests, so single runs vary 2-5x and only medians of paired rounds
// count). Two namespaces joined by two ports and a forwarding loop; median
// ping RTT of 20 pings 50 ms apart, iperf3 TCP 2 s with default offloads
// (TSO/checksum offload, so 64 KiB GSO frames cross), and 64-byte frames
// forwarded from a blasting generator for 1 s with the forwarding thread's
// CPU time per frame (Recv plus Send, including the kernel work done in
// those calls), median of 6 rounds [range]:
//
//	mode                RTT ms              TCP Gb/s          64B kpps        CPU ns/frame
//	framering (default) 0.128 [0.09-0.45]   5.1 [2.5-10.8]    144 [85-543]    1575 [1454-3681]
//	framering, no spin  0.180 [0.12-0.39]   7.9 [3.2-9.8]     148 [48-235]    2036 [1584-4231]
//	ring (V3)           1.830 [1.42-3.12]   5.1 [1.9-7.8]     137 [33-183]    1943 [1294-4741]
//	mmsg                0.185 [0.13-0.39]   5.7 [3.7-8.3]      88 [38-173]    3010 [2344-5370]
//
// Earlier paired runs agree: V3's RTT median is 1.3-4.8 ms in every run,
// the others' 0.12-0.3 ms; TCP is within noise for all modes (the V2
// ring's large frames take the socket queue, as in mmsg); per 64-byte
// frame the V2 ring without spin costs about 300 ns more than V3 (a status
// word and its cache line per frame, and smaller batches because the ring
// runs dry and the thread sleeps and is woken every few frames), and the
// busy poll recovers that (1455-1575 ns against V3's 1294-1440 ns in quiet
// rounds), while recvmmsg costs about 1 µs more. BenchmarkSpinCost shows
// that the spin costs no extra CPU at 5, 20 and 50 kpps of UDP (switch
// process 4-7%, 12% and 22-24% with or without it).
//
// Rejected alternatives:
//   - V3 made adaptive: a block cannot be retired from user space, and
//     frames in an open block have no per-frame status to read safely, so
//     the latency floor is the retire timer; only a V3 ring plus a busy
//     poll of the open block (racy) or a second socket (every frame
//     delivered twice) would avoid it.
//   - recvmmsg with larger vectors (128 messages, frames beyond a batch
//     kept for the next Recv; SetMmsgBatch in the tests): the cost is per
//     frame in the kernel, not per call: 2360-2500 ns per frame, the same
//     as 32, and no better rate.
//   - 64 KiB V2 frames so GSO frames stay in the ring: 8 MiB would then
//     hold only ~120 frames, far too few for a burst of small frames;
//     2 KiB frames hold 4,096 and a GSO frame costs one recvmmsg, which is
//     little against copying 64 KiB.
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
