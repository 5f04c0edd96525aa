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
//     When the kernel refuses the ring, a port opened with RxDefault logs
//     a warning and uses RxMmsg.
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
// The default was chosen by measurement: BenchmarkCompareModes runs the
// modes back to back in rounds on a 2-vCPU KVM guest (kernel 6.18) shared
// with other people's tests (load average 8-27), so single runs vary 2-5x
// and only medians of paired rounds mean anything. Two namespaces are
// joined by two ports and a forwarding loop on thread-locked goroutines (as
// the datapath's); it takes the median ping RTT of 20 pings 50 ms apart,
// iperf3 TCP for 2 s with default offloads (TSO and checksum offload, so
// 64 KiB GSO frames cross), and the rate of 64-byte frames forwarded for
// 1 s from a generator sending as fast as it can, with the forwarding
// thread's CPU time per frame (Recv plus Send, including the kernel work in
// those calls). Medians of rounds of three runs: A (6 rounds, final code),
// B (6 rounds, before the last spin tweak), C (4 rounds, final code, at a
// quieter moment, load average 8-12):
//
//	mode                 RTT ms              TCP Gb/s         64B kpps       CPU ns/frame
//	                     A     B     C       A    B    C      A   B   C      A    B    C
//	framering (default)  0.149 0.179 0.160   4.7  5.1 10.1    98 199 265    1802 1737 1577
//	framering, no spin   0.185 0.121 0.162   5.0  6.1 10.1    86 130 287    1881 1688 1620
//	ring (V3)            1.670 1.840 1.190   5.1  6.3  7.7    73 160 224    1409 1345 1377
//	mmsg                 0.167 0.139 0.170   3.6  7.4 10.2    88  75 156    2575 2408 2400
//
// So: the V3 ring's RTT is about ten times the others' (0.7-3.8 ms in every
// round, against 0.11-0.38 ms in all rounds but one); TCP is the same for
// all modes within the noise, V3 lowest in the quietest run (a V2 ring's GSO
// frames take the socket queue, as in mmsg); the V2 ring forwards 64-byte
// frames at least as fast as V3, though it spends 15-30% more CPU per frame:
// a status word and cache line per frame, and smaller batches (9-20 frames
// per Recv against 31) because the ring runs dry between the generator's
// bursts. recvmmsg costs about 1 µs more per frame than V3. The adaptive
// busy poll gave a small, noisy gain in rate (higher in 10 of 16 paired
// rounds; CPU per frame 3-4% lower in A and C, 3% higher in B) and costs no
// measurable CPU at moderate rates: in BenchmarkSpinCost (iperf3 UDP,
// 64-byte payloads, 5, 20 and 50 kpps offered; two runs) the switch process
// used 6-8%, 12% and 22-25% of a CPU with the spin and 4-7%, 9-14% and
// 16-26% without, the same per forwarded frame within the noise.
//
// Rejected alternatives, measured in the same runs:
//   - V3 made adaptive: a block cannot be retired from user space, and
//     frames in an open block have no per-frame status to read safely, so
//     the latency floor is the retire timer; only a busy poll of the open
//     block (racy) or a second socket (every frame delivered twice) would
//     avoid it.
//   - recvmmsg with larger vectors (128 messages, frames beyond a batch
//     kept for the next Recv; SetMmsgBatch in the tests): the cost is per
//     frame in the kernel, not per call: 2638 ns per frame against 2575
//     with 32, and 39 kpps against 88.
//   - 64 KiB V2 frames, so GSO frames stay in the ring: 8 MiB then holds
//     128 frames, which a burst of small frames overflows; 3028 ns per
//     frame, 81 kpps, TCP no faster (4.5 Gb/s). With 2 KiB frames the ring
//     holds 4,096, and a GSO frame costs one recvmmsg, little against
//     copying 64 KiB.
//   - Waiting a few microseconds to complete a half-full batch while the
//     busy poll is on: batches stayed at 16 frames, no gain.
//
// The modes also differ on the sending side. On a veth the port's receive
// hook runs on the CPU of whoever transmitted into the peer (a benchmark's
// generator, a container's stack), inside its softirq. perf on both CPUs of
// the same 2-vCPU guest, trafgen sending 64-byte frames through gvswitchd
// to sink receivers (docs/architecture.md, "The generator's share"): the
// generator's CPU spent 1906 ns per frame with the V2 frame ring (345 of
// them in the hook: the copy, a timestamp, the lazy ring's fanout group
// (since removed, below), and cross-CPU cache misses on ring frames'
// status words, which the reader wrote when it handed the frames back),
// 1716 with the V3 ring
// (one status word per block) and 1544 with recvmmsg (the hook only queues
// a clone). Switch CPU per forwarded frame was 1.5-2.1 µs for the rings and
// 3.2-3.6 µs for recvmmsg, which therefore forwarded half of what trafgen
// sent; the V3 ring kept up and forwarded 6-9% more than the V2 ring in the
// same rounds, but its request/response p50 through the switch was 1.5 ms
// against 0.11 ms. So the V2 frame ring stays the default for every device.
//
// Where the V2 hook's cache misses are (perf on the generator's CPU, 1k
// flows, sink receivers, 2026-11-26 06:51 UTC): packet_lookup_frame is
// 10-11% of that CPU, 8 points of it under __packet_rcv_has_room, which
// tpacket_rcv calls for every frame to read the status word a quarter of
// the ring ahead of its head, and 2 reading the head frame's own; both
// lines were last written by the reader on the other CPU. That is about
// 240 ns per frame, the largest single cost the switch's socket puts on
// the sender; recvmmsg sockets (Open vSwitch) have none of it, and the V3
// ring pays it per block. The reader cannot avoid dirtying those lines: it
// hands a frame back by writing its status word.
//
// Lazy ports (Options.LazyRing, what gvswitchd opens) used to keep the
// fanout group of their handover for life: perf charged it 48 ns per frame
// on the sender (packet_rcv_fanout and its program), and ports with a ring
// set up at open made trafgen send 2-19% more. The handover is now steered
// by two socket filter programs and a per-CPU word for the moment of the
// switch (lazyring_linux_unsafe.go, steer_linux.go), so a lazy
// port's ring socket ends with no filter and in no group, like one set up
// at open; the fanout group remains the fallback when the kernel refuses
// the programs. perf at 1k flows: packet_rcv_fanout (1.7% of the
// sender's CPU before) is gone from the profile. In gvsbench's sink rows
// (3 rounds, 07:00 UTC) trafgen's CPU per sent frame was 1639 and 1862 ns
// at 1 and 1k flows, against 1811 and 1800 with the group and 1422 and
// 1602 behind Open vSwitch: within the noise of the shared machine
// (docs/architecture.md, "Steered handover and growing rings").
//
// A lazy port's ring also grows once, from FrameCount (2,048) to
// GrowFrameCount (8,192) frames, when the kernel's drop counter says the
// ring overflowed, with the same handover to a third socket: the
// 8,192-frame ring lost 0.0-0.1% in the sink rows where 2,048 lost 0.1-25%
// (the poll thread losing its CPU to other jobs for more than the ring
// holds), but pins 16 MiB, so only ports that overflowed pay for it.
//
// A lazy port opens one packet socket. The sockets its handovers move to
// are created by the handover's own goroutine (the first ring's when the
// first frames arrive, the larger ring's when drops are first seen), so
// Recv never waits for one and idle ports never make them. The kernel
// adds every packet socket at the tail of its namespace's list, a walk
// over all of them, and the two spares each lazy port made at open were
// most of the opens' share (a fifth) of gvswitchd's CPU in a 1000-port
// bulk add. A socket belongs to the namespace of the thread that creates
// it and the goroutine may run on any thread, so a caller that opens the
// port from a thread switched into another namespace than the process's
// other threads sets Options.SparesAtOpen, and Open makes them then, as
// before.
//
// A lazy port builds its ring only once traffic flows: 64 frames within a
// second (lazyMinFrames, lazyWindow). With IPv6 on, every veth sees its
// peer's link-up multicast (duplicate address detection, MLD reports,
// router solicitations: 5-6 frames in the first seconds in the package's
// test), and building a ring on the first frame pinned 4 MiB for each of
// a thousand ports that then stayed idle. Below the threshold the port
// keeps receiving with recvmmsg, which costs more CPU per frame but
// nothing at a few frames a second, and with one 64 KiB slot instead of
// a batch of them (2 MiB). gvsbench -bulk-ipv6, gvswitchd's resident
// memory 5 s after a 1000-port bulk add with IPv6 on: 5159 MiB with a
// ring on the first frame, 2474-2676 with the threshold, 1857 with one
// slot too (170 with IPv6 off; the rest is outside this package).
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
// sendmmsg and recvmmsg (always MSG_DONTWAIT) are raw system calls, outside
// the Go scheduler's system-call bookkeeping. On a veth, sendmmsg also runs
// the receiving host's IP stack for every frame (the peer's softirq work
// runs in the sender's context), so a batch takes tens of microseconds;
// through unix.Syscall the runtime's sysmon then retakes the thread's P
// every time and wakes another thread, and sysmon itself keeps polling
// every 20 µs: 7% of the switch's CPU in a perf profile of 64-byte
// forwarding. Measured with two netns hosts through gvswitchd (trafgen
// 64-byte and 1500-byte UDP, 3 rounds of 3 s, old and new binary
// alternating in one run): received 0.421-0.432 -> 0.437-0.449 Mpps
// (64B) and 0.391-0.393 -> 0.402-0.407 Mpps (1500B); switch CPU per
// forwarded frame 2.41-2.46 -> 2.16-2.29 µs (64B), 2.52-2.67 -> 2.43-2.49
// µs (1500B).
//
// Where the CPU goes (perf, 64-byte frames, one flow, the same setup): 84%
// of the forwarding thread's time is inside sendmmsg, of which the
// receiving host's softirq (process_backlog, ip_rcv, a route lookup for
// the sink address) is 39 points and veth_xmit 8; the packet socket's own
// send path (skb allocation, copy, virtio-net header) about 21, and
// sendmmsg's per-message msghdr and iovec handling 12. Receiving from the
// ring and the whole datapath pass are under 7%. So on two vCPUs the
// forwarding CPU does the receiving host's work as well, which in the
// bench's "direct" case (two hosts on one veth pair) alone limits one CPU
// to about 0.49 Mpps, while the sender's CPU only runs the generator and
// the copy into the ring (0.58-0.62 Mpps): a userspace switch on veths
// cannot forward everything one trafgen core sends there; the Linux bridge
// loses nothing because it runs on the sender's CPU and slows it down.
//
// Rejected for transmit:
//   - PACKET_TX_RING. tpacket_snd attaches the ring's pages to the skb
//     instead of copying, and the frame goes back to user space when the
//     skb is orphaned, which the receiving stack does early (ip_rcv, a
//     TAP's transmit) while the data may still sit in a socket or TAP
//     queue: reusing the frame would corrupt frames not yet read.
//   - One iovec per message, the virtio-net header written into the
//     packet's headroom (the kernel's single-segment fast path): 64-byte
//     rate +4% in the median of 4 alternating rounds, CPU per frame the
//     same within the noise (2.26-2.58 against 2.28-2.66 µs); not worth
//     writing into the caller's buffers.
//   - Pinning the poll thread to the CPU the generator does not use, and a
//     200 µs busy poll instead of 50: no difference beyond the noise.
//
// Goroutines: Recv is called only by the port's poll goroutine; Send may be
// called from any goroutine and is serialised by a mutex taken once per
// batch; Stats and Close may be called from anywhere. Close wakes a blocked
// Recv through an eventfd.
//
// This package imports only datapath/packet, datapath/netdev and
// datapath/offload from the switch.
package afpacket
