package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

var _ netdev.Port = (*Port)(nil)
var _ netdev.OffloadCaps = (*Port)(nil)

const (
	ethAlen            = 6
	vlanTagSize        = 4
	txSlots            = 64 // sendmmsg messages per call
	txSlabSize         = 256 << 10
	rxSlotAlign        = 64
	ethPAll     uint16 = unix.ETH_P_ALL
	// maxFrame is the largest frame the kernel hands over: a 64 KiB GSO
	// frame plus Ethernet and VLAN headers.
	maxFrame = 65536 + 14 + 4
)

var ne = binary.NativeEndian

// Port is an AF_PACKET socket bound to one device.
type Port struct {
	name    string
	ifindex int
	mtu     int
	caps    offload.Caps
	offErr  error // *offload.RefusedError when the kernel refused an offload
	opts    Options
	fd      int
	efd     int // eventfd that wakes a blocked Recv on Close
	closed  atomic.Bool

	// Receive side, touched only by the poll goroutine under rxMu (taken
	// once per Recv so that Close can wait for it).
	rxMu sync.Mutex
	fill func(b *packet.Batch) // fillFrames, fillRing or fillMmsg
	fr   rxFrames
	ring rxRing
	mm   *rxMmsg
	slab []byte
	pkts [packet.BatchSize]packet.Packet
	pfd  [2]unix.PollFd
	// wait is the next poll's timeout, backing off while the port is idle
	// (see Options.IdlePollTimeout).
	wait netdev.PollWait
	// spinMax bounds spin, how long Recv checks the frame ring before it
	// sleeps in poll; spin adapts to the traffic (see Recv).
	spinMax, spin time.Duration

	// Transmit side, serialised per batch by txMu.
	txMu    sync.Mutex
	msgs    [txSlots]unix.Mmsghdr
	iovs    [txSlots][2]unix.Iovec
	hdrs    [txSlots][offload.VnetHdrSize]byte
	txLens  [txSlots]int
	txN     int
	txSlab  []byte // software segments; allocated on first use
	txOff   int
	segOut  func([]byte)
	scratch []byte // offload.Segment's scratch; allocated on first use
	txErr   error  // a port failure seen inside the segmenter callback

	statsMu sync.Mutex // guards fd for Stats against Close, and kdrops
	kdrops  uint64

	rxPackets, rxBytes, rxDropped, rxErrors atomic.Uint64
	txPackets, txBytes, txDropped, txErrors atomic.Uint64

	// Lazy frame ring (Options.LazyRing, lazyring_linux.go): handover
	// state while pending, the builder's end after adoption, the fanout
	// group, and whether the ring socket took over.
	lazy        *lazyRing
	lazyDone    <-chan struct{}
	fanoutID    uint16
	ringAdopted atomic.Bool
}

// Open binds a new AF_PACKET socket to the device named ifname in the
// calling thread's network namespace, sets up the receive ring and puts the
// device in promiscuous mode.
//
// When the kernel refuses the frame ring of the default mode (RxDefault),
// the port logs a warning and receives with recvmmsg (RxMmsg) instead; an
// explicitly asked-for mode is never swapped.
func Open(ifname string, opts Options) (*Port, error) {
	o := opts.withDefaults()
	if o.LazyRing && o.RxMode == RxFrameRing { // ring built on first frames: Open stays cheap (lazyring_linux_unsafe.go)
		p, err := openLazy(ifname, o)
		if err != nil {
			return nil, fmt.Errorf("open afpacket %s: %w", ifname, err)
		}
		return p, nil
	}
	p, err := open(ifname, o)
	var refused *ringRefusedError
	if err != nil && opts.RxMode == RxDefault && errors.As(err, &refused) {
		o.Logger.Warn("afpacket: frame ring refused, receiving with recvmmsg", "port", ifname, "err", err)
		o.RxMode = RxMmsg
		p, err = open(ifname, o)
	}
	if err != nil {
		return nil, fmt.Errorf("open afpacket %s: %w", ifname, err)
	}
	return p, nil
}

func open(ifname string, o Options) (*Port, error) {
	p := &Port{name: ifname, opts: o, fd: -1, efd: -1}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	// Protocol 0 until bind, so nothing is queued before the ring exists.
	var err error
	if o.fanout.haveSock { // made at open in the port's namespace; the builder thread may be in another
		p.fd = o.fanout.sock
	} else {
		p.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	// Index and MTU by name with two ioctls: net.InterfaceByName dumps
	// every link of the namespace per call, which made opening n ports
	// O(n^2) (a 1000-port bulk add with 2000 veths spent seconds there).
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", unix.ENODEV, err)
	}
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return nil, fmt.Errorf("device %s: %w", ifname, err)
	}
	p.ifindex = int(ifr.Uint32())
	if err := unix.IoctlIfreq(p.fd, unix.SIOCGIFMTU, ifr); err != nil {
		return nil, fmt.Errorf("device %s mtu: %w", ifname, err)
	}
	p.mtu = int(ifr.Uint32())
	// TPACKET_V2 for the frame ring, V3 otherwise (for the block ring; the
	// version does not matter to recvmmsg).
	version := unix.TPACKET_V3
	if o.RxMode == RxFrameRing {
		version = unix.TPACKET_V2
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_VERSION, version); err != nil {
		err = fmt.Errorf("tpacket version %d: %w", version+1, wrapNotSupported(err))
		if o.RxMode == RxFrameRing {
			err = &ringRefusedError{err}
		}
		return nil, err
	}
	// PACKET_VNET_HDR must come before the ring (EBUSY after).
	if !o.NoVnetHdr {
		if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			p.offErr = &offload.RefusedError{Feature: "PACKET_VNET_HDR", Err: err}
			o.Logger.Warn("afpacket: virtio-net header refused, offloads done in software",
				"port", ifname, "err", err)
		} else {
			p.caps = offload.CapsAll
		}
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		o.Logger.Info("afpacket: PACKET_IGNORE_OUTGOING refused, filtering in user space",
			"port", ifname, "err", err)
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		o.Logger.Info("afpacket: PACKET_QDISC_BYPASS refused", "port", ifname, "err", err)
	}
	switch o.RxMode {
	case RxFrameRing:
		err = p.setupFrameRing()
	case RxRing:
		err = p.setupRing()
	case RxMmsg:
		err = p.setupMmsg()
	default:
		err = fmt.Errorf("rx mode %d: %w", o.RxMode, unix.EINVAL)
	}
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: p.ifindex}
	if err := unix.Bind(p.fd, sa); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := p.joinFanout(o); err != nil { // only lazy ring sockets join: the group routes frames during the handover
		return nil, err
	}
	if !o.NoPromisc {
		mreq := unix.PacketMreq{Ifindex: int32(p.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(p.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fmt.Errorf("promiscuous: %w", err)
		}
	}
	p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p.pfd = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	p.wait = netdev.NewPollWait(o.PollTimeout, o.IdlePollTimeout)
	if o.RxMode == RxFrameRing && o.BusyPoll > 0 {
		p.spinMax = o.BusyPoll
	}
	p.segOut = p.queueCopy
	ok = true
	return p, nil
}

// ringRefusedError is the kernel refusing to set up the frame ring.
type ringRefusedError struct{ err error }

func (e *ringRefusedError) Error() string { return e.err.Error() }
func (e *ringRefusedError) Unwrap() error { return e.err }

func wrapNotSupported(err error) error {
	if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%w: %w", netdev.ErrNotSupported, err)
	}
	return err
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func alignSlot(n int) int { return (n + rxSlotAlign - 1) &^ (rxSlotAlign - 1) }

// RxMode returns the receive mode in use.
func (p *Port) RxMode() RxMode {
	if p.ringAdopted.Load() { // a lazy port opened as RxMmsg receives from its frame ring now
		return RxFrameRing
	}
	return p.opts.RxMode
}

// release frees everything open acquired; it runs once, from open's failure
// path or from Close.
func (p *Port) release() {
	p.ring.unmap()
	p.fr.unmap()
	if p.fd >= 0 {
		_ = unix.Close(p.fd)
		p.fd = -1
	}
	if p.efd >= 0 {
		_ = unix.Close(p.efd)
		p.efd = -1
	}
}

// Name implements netdev.Port.
func (p *Port) Name() string { return p.name }

// BatchSize implements netdev.Port.
func (p *Port) BatchSize() int { return packet.BatchSize }

// VnetHdr implements netdev.OffloadCaps.
func (p *Port) VnetHdr() bool { return p.caps.Has(offload.CapVnetHdr) }

// Caps returns the offloads the port negotiated at open.
func (p *Port) Caps() offload.Caps { return p.caps }

// OffloadErr returns the *offload.RefusedError recorded when the kernel
// refused the virtio-net header at open, or nil.
func (p *Port) OffloadErr() error { return p.offErr }

// MTU returns the device's MTU as it was at open.
func (p *Port) MTU() int { return p.mtu }

// Ifindex returns the device's interface index.
func (p *Port) Ifindex() int { return p.ifindex }

// Recv implements netdev.Port. Frames are in the port's slab, valid until
// the next Recv; in the ring modes the ring frames or blocks they were
// copied from are already back with the kernel.
func (p *Port) Recv(b *packet.Batch) error {
	b.Reset()
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	p.fill(b)
	if p.lazy != nil { // pending lazy ring: start its builder or adopt it once S1 is drained
		p.lazyStep(b)
	}
	if b.N > 0 || p.spinFrames(b) {
		p.wait.Busy()
		return nil
	}
	var t0 time.Time
	if p.spinMax > 0 {
		t0 = time.Now()
	}
	if _, err := unix.Poll(p.pfd[:], p.wait.MS()); err != nil && err != unix.EINTR {
		return fmt.Errorf("recv %s: poll: %w", p.name, err)
	}
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	p.fill(b)
	if p.lazy != nil { // pending lazy ring: start its builder or adopt it once S1 is drained
		p.lazyStep(b)
	}
	if b.N == 0 {
		p.wait.Empty()
	} else {
		p.wait.Busy()
	}
	if p.spinMax > 0 && b.N > 0 {
		// Woken soon after going to sleep: traffic is flowing, so spin
		// (longer) next time instead of sleeping; a long sleep shrinks
		// the spin, so an idle port never spins.
		if time.Since(t0) < p.spinMax {
			p.spin = min(p.spinMax, max(spinMin, 2*p.spin))
		} else {
			p.spin /= 2
		}
	}
	return nil
}

// spinMin is the shortest spin worth doing.
const spinMin = 5 * time.Microsecond

// spinFrames waits up to p.spin for a frame ring frame, without a system
// call, and fills b when one arrives. A spin that times out halves the
// next one.
func (p *Port) spinFrames(b *packet.Batch) bool {
	if p.spin < spinMin || p.fr.frames == nil {
		return false
	}
	start := time.Now()
	for i := 1; ; i++ {
		if p.fr.ready() {
			p.fill(b)
			if b.N > 0 {
				return true
			}
		}
		// No runtime.Gosched: the datapath's poll goroutine is locked to
		// its thread, where yielding means handing the P to another
		// thread and back. Reading the clock every time cost 4% of a
		// forwarding profile; the status word stays in cache until the
		// kernel writes it.
		if i%16 == 0 && time.Since(start) >= p.spin {
			p.spin /= 2
			return false
		}
	}
}

// finish completes a received frame in place: frame starts at
// buf[start+vlanTagSize] when the kernel reported a stripped VLAN tag, which
// is then written back between the MAC addresses and the EtherType, so the
// frame starts at buf[start]; otherwise it starts at buf[start]. vnet is the
// frame's virtio-net header (nil without one), status the tpacket status
// word. It fills pkt and reports the frame length, or false for a frame too
// short to be Ethernet.
func (p *Port) finish(pkt *packet.Packet, buf []byte, start, flen int, vnet []byte, status uint32, tci, tpid uint16) (int, bool) {
	if flen < 2*ethAlen+2 {
		return 0, false
	}
	var off packet.Offload
	if vnet != nil {
		off, _ = offload.ParseVnetHdr(vnet)
	}
	if status&unix.TP_STATUS_VLAN_VALID != 0 {
		if status&unix.TP_STATUS_VLAN_TPID_VALID == 0 || tpid == 0 {
			tpid = unix.ETH_P_8021Q
		}
		copy(buf[start:], buf[start+vlanTagSize:start+vlanTagSize+2*ethAlen])
		binary.BigEndian.PutUint16(buf[start+2*ethAlen:], tpid)
		binary.BigEndian.PutUint16(buf[start+2*ethAlen+2:], tci)
		flen += vlanTagSize
		if !offload.ShiftStart(&off, vlanTagSize) {
			off = packet.Offload{}
		}
	} else {
		start += vlanTagSize
	}
	end := start + flen
	if vnet == nil && status&unix.TP_STATUS_CSUMNOTREADY != 0 {
		off = p.partialCsum(buf[start:end])
	}
	pkt.Reset(buf[:end:end], start, end)
	pkt.Offload = off
	return flen, true
}

// countRx adds one Recv's totals to the counters.
func (p *Port) countRx(n int, nbytes, ndrop, nerr uint64) {
	if n > 0 {
		p.rxPackets.Add(uint64(n))
		p.rxBytes.Add(nbytes)
	}
	if ndrop > 0 {
		p.rxDropped.Add(ndrop)
	}
	if nerr > 0 {
		p.rxErrors.Add(nerr)
	}
}

// partialCsum describes a checksum-partial frame received without a
// virtio-net header (TP_STATUS_CSUMNOTREADY): the L4 checksum field holds
// only the pseudo-header sum, so mark it for a software finish on output.
// Such a frame larger than the device MTU is an unsegmented GSO frame (TSO
// from a local stack over a veth): mark it for segmentation into MTU-sized
// frames.
func (p *Port) partialCsum(frame []byte) packet.Offload {
	h, ok := offload.ParseHeaders(frame, 0, 0)
	if !ok {
		return packet.Offload{}
	}
	off := packet.Offload{Flags: offload.FlagNeedsCsum, CsumStart: uint16(h.L4), CsumOffset: 16}
	if h.Proto == offload.ProtoUDP {
		off.CsumOffset = 6
	}
	if len(frame)-h.L3 > p.mtu {
		mss := p.mtu - (h.Payload - h.L3)
		if mss <= 0 {
			return packet.Offload{}
		}
		off.GSOSize, off.HdrLen = uint16(mss), uint16(h.Payload)
		switch {
		case h.Proto == offload.ProtoUDP:
			off.GSOType = offload.GSOUDPL4
		case h.IPv6:
			off.GSOType = offload.GSOTCPv6
		default:
			off.GSOType = offload.GSOTCPv4
		}
	}
	return off
}

// takeKernelDropsLocked adds the drops the kernel counted on the port's
// socket since the last read (PACKET_STATISTICS resets them) to kdrops and
// returns the total. statsMu must be held.
func (p *Port) takeKernelDropsLocked() uint64 {
	if d, err := packetDrops(p.fd); err == nil {
		p.kdrops += d
	}
	return p.kdrops
}

// Stats implements netdev.Port. RxDropped includes frames the kernel dropped
// because the ring was full (PACKET_STATISTICS).
func (p *Port) Stats() netdev.Stats {
	p.statsMu.Lock()
	if p.fd >= 0 && !p.closed.Load() {
		p.takeKernelDropsLocked()
	}
	kd := p.kdrops
	p.statsMu.Unlock()
	return netdev.Stats{
		RxPackets: p.rxPackets.Load(),
		RxBytes:   p.rxBytes.Load(),
		RxDropped: p.rxDropped.Load() + kd,
		RxErrors:  p.rxErrors.Load(),
		TxPackets: p.txPackets.Load(),
		TxBytes:   p.txBytes.Load(),
		TxDropped: p.txDropped.Load(),
		TxErrors:  p.txErrors.Load(),
	}
}

// Close implements netdev.Port. It wakes a Recv blocked in poll, waits for
// it and for any Send to return, then closes the socket and unmaps the ring.
// Packets returned by the last Recv stay valid (they live in Go memory).
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	var one [8]byte
	ne.PutUint64(one[:], 1)
	_, _ = unix.Write(p.efd, one[:])
	p.rxMu.Lock()
	p.txMu.Lock()
	p.statsMu.Lock()
	p.closeLazy() // before release: the lazy ring builder still writes efd
	p.release()
	p.statsMu.Unlock()
	p.txMu.Unlock()
	p.rxMu.Unlock()
	return nil
}
