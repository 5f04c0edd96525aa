package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

var _ netdev.Port = (*Port)(nil)
var _ netdev.OffloadCaps = (*Port)(nil)

// TPACKET_V3 layout (linux/if_packet.h). Offsets into struct
// tpacket_block_desc and struct tpacket3_hdr.
const (
	blkStatusOff   = 8  // hdr.bh1.block_status
	blkNumPktsOff  = 12 // hdr.bh1.num_pkts
	blkFirstPktOff = 16 // hdr.bh1.offset_to_first_pkt
	blkLenOff      = 20 // hdr.bh1.blk_len
	blkDescSize    = 48 // header plus timestamps, before the first frame

	pktNextOff    = 0
	pktSnaplenOff = 12
	pktLenOff     = 16
	pktStatusOff  = 20
	pktMacOff     = 24
	pktVlanTCIOff = 32
	pktVlanTPOff  = 36
	pktHdrSize    = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	sllPkttypeOff = pktHdrSize + 10

	tpStatusKernel        = 0
	tpStatusUser          = 1
	tpStatusCopy          = 2
	tpFrameSize           = 2048 // only sizes the ring's frame count for V3
	minBlockSize          = 128 << 10
	ethAlen               = 6
	vlanTagSize           = 4
	txSlots               = 64 // sendmmsg messages per call
	txSlabSize            = 256 << 10
	rxSlotAlign           = 64
	ethPAll        uint16 = unix.ETH_P_ALL
)

var ne = binary.NativeEndian

// Port is an AF_PACKET socket bound to one device.
type Port struct {
	name    string
	ifindex int
	mtu     int
	caps    offload.Caps
	opts    Options
	fd      int
	efd     int // eventfd that wakes a blocked Recv on Close
	closed  atomic.Bool

	// Receive side, touched only by the poll goroutine under rxMu (taken
	// once per Recv so that Close can wait for it).
	rxMu     sync.Mutex
	ring     []byte // the mmapped TPACKET_V3 ring
	blocks   [][]byte
	cur      int  // block being walked
	inBlock  bool // cur has been opened (status seen as user)
	pktLeft  int  // frames left in cur
	pktOff   int  // offset of the next frame in cur
	slab     []byte
	pkts     [packet.BatchSize]packet.Packet
	pfd      [2]unix.PollFd
	pollMS   int
	rxErrors atomic.Uint64

	// Transmit side, serialised per batch by txMu.
	txMu    sync.Mutex
	msgs    [txSlots]unix.Mmsghdr
	iovs    [txSlots][2]unix.Iovec
	hdrs    [txSlots][offload.VnetHdrSize]byte
	txLens  [txSlots]int
	txN     int
	txSlab  []byte
	txOff   int
	segOut  func([]byte)
	scratch []byte
	txErr   error // a port failure seen inside the segmenter callback

	statsMu sync.Mutex // guards fd for Stats against Close, and kernelDrops
	kdrops  uint64

	rxPackets, rxBytes, rxDropped atomic.Uint64
	txPackets, txBytes, txDropped atomic.Uint64
	txErrors                      atomic.Uint64
	_                             [0]func() // not comparable
}

// Open binds a new AF_PACKET socket to the device named ifname in the
// calling thread's network namespace, sets up the receive ring and puts the
// device in promiscuous mode.
func Open(ifname string, opts Options) (*Port, error) {
	p, err := open(ifname, opts.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("open afpacket %s: %w", ifname, err)
	}
	return p, nil
}

func open(ifname string, o Options) (*Port, error) {
	if o.BlockSize < minBlockSize || o.BlockSize%os.Getpagesize() != 0 {
		return nil, fmt.Errorf("block size %d: %w", o.BlockSize, unix.EINVAL)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	p := &Port{name: ifname, ifindex: ifi.Index, mtu: ifi.MTU, opts: o, fd: -1, efd: -1}
	ok := false
	defer func() {
		if !ok {
			p.release()
		}
	}()
	// Protocol 0 until bind, so nothing is queued before the ring exists.
	p.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("tpacket v3: %w", wrapNotSupported(err))
	}
	// PACKET_VNET_HDR must come before the ring (EBUSY after).
	if !o.NoVnetHdr {
		if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			o.Logger.Warn("afpacket: virtio-net header refused, offloads done in software",
				"port", ifname, "err", err)
		} else {
			p.caps = offload.CapsAll
		}
	}
	// Without a ring the VLAN tag would come in a PACKET_AUXDATA control
	// message; with it, the tag is in the frame header. Ask anyway so a
	// later recvmsg path gets it too; failure is harmless.
	_ = unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1)
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		o.Logger.Info("afpacket: PACKET_IGNORE_OUTGOING refused, filtering in user space",
			"port", ifname, "err", err)
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		o.Logger.Info("afpacket: PACKET_QDISC_BYPASS refused", "port", ifname, "err", err)
	}
	tov := max(1, int(o.BlockTimeout.Milliseconds()))
	req := unix.TpacketReq3{
		Block_size:     uint32(o.BlockSize),
		Block_nr:       uint32(o.BlockCount),
		Frame_size:     tpFrameSize,
		Frame_nr:       uint32(o.BlockSize / tpFrameSize * o.BlockCount),
		Retire_blk_tov: uint32(tov),
	}
	if err := unix.SetsockoptTpacketReq3(p.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("rx ring: %w", err)
	}
	p.ring, err = unix.Mmap(p.fd, 0, o.BlockSize*o.BlockCount, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap ring: %w", err)
	}
	p.blocks = make([][]byte, o.BlockCount)
	for i := range p.blocks {
		p.blocks[i] = p.ring[i*o.BlockSize : (i+1)*o.BlockSize : (i+1)*o.BlockSize]
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: p.ifindex}
	if err := unix.Bind(p.fd, sa); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
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
	p.pollMS = max(1, int(o.PollTimeout.Milliseconds()))
	// The slab holds a full batch of MTU-sized frames, plus one frame as
	// large as a block (a GSO frame) so that any single frame fits.
	p.slab = make([]byte, packet.BatchSize*slotSize(2048)+slotSize(o.BlockSize))
	p.txSlab = make([]byte, txSlabSize)
	p.scratch = make([]byte, 64<<10+256)
	p.segOut = p.queueCopy
	ok = true
	return p, nil
}

func wrapNotSupported(err error) error {
	if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%w: %w", netdev.ErrNotSupported, err)
	}
	return err
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func slotSize(frame int) int {
	n := packet.Headroom + vlanTagSize + frame
	return (n + rxSlotAlign - 1) &^ (rxSlotAlign - 1)
}

// release frees everything open acquired; it runs once, from open's failure
// path or from Close.
func (p *Port) release() {
	if p.ring != nil {
		_ = unix.Munmap(p.ring)
		p.ring, p.blocks = nil, nil
	}
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

// MTU returns the device's MTU as it was at open.
func (p *Port) MTU() int { return p.mtu }

// Ifindex returns the device's interface index.
func (p *Port) Ifindex() int { return p.ifindex }

// Recv implements netdev.Port. Frames are copies in the port's slab, valid
// until the next Recv; the ring blocks they came from are already back with
// the kernel.
func (p *Port) Recv(b *packet.Batch) error {
	b.Reset()
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	for polled := false; ; polled = true {
		p.fill(b)
		if b.N > 0 || polled {
			return nil
		}
		if _, err := unix.Poll(p.pfd[:], p.pollMS); err != nil && err != unix.EINTR {
			return fmt.Errorf("recv %s: poll: %w", p.name, err)
		}
		if p.closed.Load() {
			return netdev.ErrClosed
		}
	}
}

// fill walks ready ring blocks and copies frames into b.
func (p *Port) fill(b *packet.Batch) {
	slabOff := 0
	var nbytes, ndrop, nerr uint64
	for b.N < packet.BatchSize {
		blk := p.blocks[p.cur]
		if !p.inBlock {
			if loadStatus(blk[blkStatusOff:])&tpStatusUser == 0 {
				break
			}
			p.inBlock = true
			p.pktLeft = int(ne.Uint32(blk[blkNumPktsOff:]))
			p.pktOff = int(ne.Uint32(blk[blkFirstPktOff:]))
		}
		if p.pktLeft <= 0 || p.pktOff < blkDescSize || p.pktOff+pktHdrSize+ethAlen*2 > len(blk) {
			if p.pktLeft > 0 {
				nerr += uint64(p.pktLeft) // corrupt offsets: skip the rest
			}
			p.nextBlock(blk)
			continue
		}
		h := blk[p.pktOff:]
		snap := int(ne.Uint32(h[pktSnaplenOff:]))
		flen := int(ne.Uint32(h[pktLenOff:]))
		mac := int(ne.Uint16(h[pktMacOff:]))
		status := ne.Uint32(h[pktStatusOff:])
		if mac < pktHdrSize || mac+snap > len(h) {
			nerr += uint64(p.pktLeft)
			p.nextBlock(blk)
			continue
		}
		if h[sllPkttypeOff] == unix.PACKET_OUTGOING {
			p.advance(blk, h)
			continue
		}
		if snap < flen || status&tpStatusCopy != 0 {
			ndrop++ // truncated: larger than a block can hold
			p.advance(blk, h)
			continue
		}
		tagged := status&unix.TP_STATUS_VLAN_VALID != 0
		need := packet.Headroom + snap
		if tagged {
			need += vlanTagSize
		}
		if slabOff+need > len(p.slab) {
			break // slab full: leave the frame for the next Recv
		}
		var off packet.Offload
		if p.caps != 0 && mac >= pktHdrSize+offload.VnetHdrSize {
			off, _ = offload.ParseVnetHdr(h[mac-offload.VnetHdrSize : mac])
		} else if status&unix.TP_STATUS_CSUMNOTREADY != 0 {
			off = p.partialCsum(h[mac : mac+snap])
		}
		buf := p.slab[slabOff : slabOff+need : slabOff+need]
		frame := h[mac : mac+snap]
		dst := buf[packet.Headroom:]
		if tagged && snap >= 2*ethAlen {
			tpid := uint16(unix.ETH_P_8021Q)
			if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				if t := ne.Uint16(h[pktVlanTPOff:]); t != 0 {
					tpid = t
				}
			}
			copy(dst, frame[:2*ethAlen])
			binary.BigEndian.PutUint16(dst[2*ethAlen:], tpid)
			binary.BigEndian.PutUint16(dst[2*ethAlen+2:], uint16(ne.Uint32(h[pktVlanTCIOff:])))
			copy(dst[2*ethAlen+vlanTagSize:], frame[2*ethAlen:])
			if !offload.ShiftStart(&off, vlanTagSize) {
				off = packet.Offload{}
			}
		} else {
			need = packet.Headroom + snap
			buf = buf[:need:need]
			copy(dst, frame)
		}
		pkt := &p.pkts[b.N]
		pkt.Reset(buf, packet.Headroom, need)
		pkt.Offload = off
		b.Pkts[b.N] = pkt
		b.N++
		nbytes += uint64(need - packet.Headroom)
		slabOff += (need + rxSlotAlign - 1) &^ (rxSlotAlign - 1)
		p.advance(blk, h)
	}
	if b.N > 0 {
		p.rxPackets.Add(uint64(b.N))
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

// advance steps past the frame whose header is h.
func (p *Port) advance(blk, h []byte) {
	p.pktLeft--
	next := int(ne.Uint32(h[pktNextOff:]))
	if p.pktLeft <= 0 || next <= 0 {
		p.nextBlock(blk)
		return
	}
	p.pktOff += next
}

// nextBlock hands blk back to the kernel and moves to the next block.
func (p *Port) nextBlock(blk []byte) {
	storeStatus(blk[blkStatusOff:], tpStatusKernel)
	p.inBlock = false
	p.pktLeft = 0
	p.cur++
	if p.cur == len(p.blocks) {
		p.cur = 0
	}
}

// Send implements netdev.Port: one sendmmsg per up to 64 frames. Frames the
// device refuses (too large, device down) are counted in TxDropped. On a
// port without virtio-net headers, GSO frames are segmented and
// checksum-partial frames finished in software, in the port's own buffers;
// the caller's packets are never modified.
func (p *Port) Send(b *packet.Batch) error {
	p.txMu.Lock()
	defer p.txMu.Unlock()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	p.txN, p.txOff = 0, 0
	for _, pkt := range b.Packets() {
		frame, off := pkt.Data(), pkt.Offload
		switch {
		case p.caps.Accepts(off):
			if p.txN == txSlots {
				if err := p.flush(); err != nil {
					return err
				}
			}
			p.queue(frame, off)
		case offload.IsGSO(off) || offload.NeedsCsum(off):
			if _, ok := offload.Segment(frame, off, p.scratch, p.segOut); !ok {
				p.txDropped.Add(1)
			}
			if p.txErr != nil {
				err := p.txErr
				p.txErr = nil
				return err
			}
		default:
			p.txDropped.Add(1) // GSO type nobody can segment (UFO)
		}
	}
	return p.flush()
}

// queue adds frame (not copied) to the pending sendmmsg vector.
func (p *Port) queue(frame []byte, off packet.Offload) {
	i := p.txN
	iov := &p.iovs[i]
	n := 1
	if p.caps != 0 {
		offload.EncodeVnetHdr(p.hdrs[i][:], off)
		iov[0].Base = &p.hdrs[i][0]
		iov[0].SetLen(offload.VnetHdrSize)
		n = 2
	}
	last := &iov[n-1]
	if len(frame) > 0 {
		last.Base = &frame[0]
	} else {
		last.Base = nil
	}
	last.SetLen(len(frame))
	m := &p.msgs[i].Hdr
	m.Iov = &iov[0]
	m.SetIovlen(n)
	p.txLens[i] = len(frame)
	p.txN++
}

// queueCopy queues a copy of seg (a software segment, which the segmenter
// overwrites next) from the transmit slab, flushing when slab or vector is
// full.
func (p *Port) queueCopy(seg []byte) {
	if p.txN == txSlots || p.txOff+len(seg) > len(p.txSlab) {
		if err := p.flush(); err != nil {
			p.txErr = err
			return
		}
	}
	if len(seg) > len(p.txSlab) {
		p.txDropped.Add(1)
		return
	}
	dst := p.txSlab[p.txOff : p.txOff+len(seg)]
	copy(dst, seg)
	p.txOff += len(seg)
	p.queue(dst, packet.Offload{})
}

// flush sends the pending vector and resets it.
func (p *Port) flush() error {
	n := p.txN
	sent := 0
	var pkts, bytes, drops uint64
	var ferr error
	for sent < n {
		r, err := sendmmsg(p.fd, p.msgs[sent:n])
		switch {
		case err == nil:
			for _, l := range p.txLens[sent : sent+r] {
				bytes += uint64(l)
			}
			pkts += uint64(r)
			sent += r
		case err == unix.EINTR:
		case err == unix.EBADF || err == unix.ENOTSOCK || err == unix.EFAULT:
			drops += uint64(n - sent)
			sent = n
			ferr = fmt.Errorf("send %s: %w", p.name, err)
		case err == unix.EAGAIN || err == unix.ENOBUFS || err == unix.ENETDOWN || err == unix.ENXIO:
			// The device or socket buffer is full or down: the rest of
			// the vector would fail the same way.
			drops += uint64(n - sent)
			sent = n
		default:
			drops++ // this frame is refused (EMSGSIZE, EINVAL): skip it
			sent++
		}
	}
	p.txN, p.txOff = 0, 0
	if pkts > 0 {
		p.txPackets.Add(pkts)
		p.txBytes.Add(bytes)
	}
	if drops > 0 {
		p.txDropped.Add(drops)
	}
	return ferr
}

// Stats implements netdev.Port. RxDropped includes frames the kernel dropped
// because the ring was full (PACKET_STATISTICS).
func (p *Port) Stats() netdev.Stats {
	p.statsMu.Lock()
	if p.fd >= 0 && !p.closed.Load() {
		if st, err := unix.GetsockoptTpacketStatsV3(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			p.kdrops += uint64(st.Drops)
		}
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
	p.release()
	p.statsMu.Unlock()
	p.txMu.Unlock()
	p.rxMu.Unlock()
	return nil
}
