package afpacket

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// TPACKET_V2 layout (linux/if_packet.h): offsets into struct tpacket2_hdr
// and the struct sockaddr_ll that follows it at TPACKET_ALIGN(32).
const (
	v2StatusOff   = 0
	v2LenOff      = 4
	v2SnaplenOff  = 8
	v2MacOff      = 12
	v2VlanTCIOff  = 24
	v2VlanTPIDOff = 26
	v2HdrSize     = 32
	v2PkttypeOff  = v2HdrSize + 10
	v2HdrLen      = v2HdrSize + 20 // TPACKET2_HDRLEN

	minFrameSize = 1024
	maxFrameSize = 1 << 20
)

// rxFrames is the TPACKET_V2 receive ring, the walk position in it, and the
// one-message recvmmsg vector that reads frames too large for a ring frame
// from the socket queue.
type rxFrames struct {
	mem    []byte
	frames [][]byte
	cur    int

	msg [1]unix.Mmsghdr
	iov [2]unix.Iovec
	hdr [offload.VnetHdrSize]byte
}

func (r *rxFrames) unmap() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem, r.frames = nil, nil
	}
}

// failFrameRing, when set by a test, is the error the kernel "returns" for
// the frame ring.
var failFrameRing error

// setupFrameRing creates and maps the ring; it runs before bind, after
// PACKET_VERSION was set to TPACKET_V2.
func (p *Port) setupFrameRing() error {
	o := p.opts
	if o.FrameSize < minFrameSize || o.FrameSize > maxFrameSize || o.FrameSize%16 != 0 {
		return fmt.Errorf("frame size %d: %w", o.FrameSize, unix.EINVAL)
	}
	// Frames never straddle blocks: a block is the frame size rounded up
	// to whole pages, holding as many frames as fit.
	page := os.Getpagesize()
	blockSize := (o.FrameSize + page - 1) / page * page
	perBlock := blockSize / o.FrameSize
	nblocks := (o.FrameCount + perBlock - 1) / perBlock
	req := unix.TpacketReq{
		Block_size: uint32(blockSize),
		Block_nr:   uint32(nblocks),
		Frame_size: uint32(o.FrameSize),
		Frame_nr:   uint32(nblocks * perBlock),
	}
	if failFrameRing != nil {
		return &ringRefusedError{fmt.Errorf("rx frame ring: %w", failFrameRing)}
	}
	if err := unix.SetsockoptTpacketReq(p.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return &ringRefusedError{fmt.Errorf("rx frame ring: %w", err)}
	}
	// Frames larger than a ring frame go to the socket queue whole (the
	// ring frame gets TP_STATUS_COPY and a truncated copy), as long as the
	// queue has room: give it the same room as RxMmsg.
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
		return &ringRefusedError{fmt.Errorf("copy thresh: %w", wrapNotSupported(err))}
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		_ = unix.SetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	mem, err := unix.Mmap(p.fd, 0, blockSize*nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return &ringRefusedError{fmt.Errorf("mmap frame ring: %w", err)}
	}
	r := &p.fr
	r.mem = mem
	r.frames = make([][]byte, 0, nblocks*perBlock)
	for b := range nblocks {
		for i := range perBlock {
			off := b*blockSize + i*o.FrameSize
			r.frames = append(r.frames, mem[off:off+o.FrameSize:off+o.FrameSize])
		}
	}
	p.slab = make([]byte, packet.BatchSize*alignSlot(packet.Headroom+vlanTagSize+maxFrame))
	p.fill = p.fillFrames
	return nil
}

// fillFrames walks ready ring frames, copies each into the slab and hands
// the frame back to the kernel at once. A frame the kernel marked
// TP_STATUS_COPY is read whole from the socket queue instead.
func (p *Port) fillFrames(b *packet.Batch) {
	r := &p.fr
	slabOff := 0
	var nbytes, ndrop, nerr uint64
	bigSlot := alignSlot(packet.Headroom + vlanTagSize + maxFrame)
	for b.N < packet.BatchSize {
		h := r.frames[r.cur]
		status := loadStatus(h[v2StatusOff:])
		if status&tpStatusUser == 0 {
			break
		}
		flen := int(ne.Uint32(h[v2LenOff:]))
		snap := int(ne.Uint32(h[v2SnaplenOff:]))
		mac := int(ne.Uint16(h[v2MacOff:]))
		tci, tpid := ne.Uint16(h[v2VlanTCIOff:]), ne.Uint16(h[v2VlanTPIDOff:])
		outgoing := h[v2PkttypeOff] == unix.PACKET_OUTGOING
		if status&tpStatusCopy != 0 {
			// The whole frame waits in the socket queue: read it even
			// when it is to be ignored, to keep queue and ring in step.
			if slabOff+bigSlot > len(p.slab) {
				break // leave it for the next Recv
			}
			r.release(h)
			buf := p.slab[slabOff : slabOff+bigSlot]
			n, vnet, ok := p.recvQueued(buf[packet.Headroom+vlanTagSize:])
			switch {
			case !ok:
				ndrop++
				continue
			case outgoing:
				continue
			}
			pkt := &p.pkts[b.N]
			fl, ok := p.finish(pkt, buf, packet.Headroom, n, vnet, status&^tpStatusCopy, tci, tpid)
			if !ok {
				nerr++
				continue
			}
			b.Pkts[b.N] = pkt
			b.N++
			nbytes += uint64(fl)
			slabOff += alignSlot(packet.Headroom + vlanTagSize + n)
			continue
		}
		if mac < v2HdrLen || mac > len(h) || snap > len(h)-mac {
			nerr++
			r.release(h)
			continue
		}
		if outgoing {
			r.release(h)
			continue
		}
		if snap < flen {
			ndrop++ // truncated, and the socket queue had no room for it
			r.release(h)
			continue
		}
		need := alignSlot(packet.Headroom + vlanTagSize + snap)
		if slabOff+need > len(p.slab) {
			break
		}
		var vnet []byte
		if p.caps != 0 && mac >= v2HdrLen+offload.VnetHdrSize {
			vnet = h[mac-offload.VnetHdrSize : mac]
		}
		buf := p.slab[slabOff : slabOff+need]
		copy(buf[packet.Headroom+vlanTagSize:], h[mac:mac+snap])
		// finish reads the virtio-net header from the ring frame, so the
		// frame goes back to the kernel only after it.
		pkt := &p.pkts[b.N]
		n, ok := p.finish(pkt, buf, packet.Headroom, snap, vnet, status, tci, tpid)
		r.release(h)
		if !ok {
			nerr++
			continue
		}
		b.Pkts[b.N] = pkt
		b.N++
		nbytes += uint64(n)
		slabOff += need
	}
	p.countRx(b.N, nbytes, ndrop, nerr)
}

// ready reports whether the next frame is the user's.
func (r *rxFrames) ready() bool {
	return loadStatus(r.frames[r.cur][v2StatusOff:])&tpStatusUser != 0
}

// release hands ring frame h back to the kernel and moves to the next one.
func (r *rxFrames) release(h []byte) {
	storeStatus(h[v2StatusOff:], tpStatusKernel)
	r.cur++
	if r.cur == len(r.frames) {
		r.cur = 0
	}
}

// recvQueued reads the frame at the head of the socket queue into dst,
// with its virtio-net header when the port has them. It reports the frame
// length, or false when the queue was empty or the frame did not fit.
func (p *Port) recvQueued(dst []byte) (int, []byte, bool) {
	r := &p.fr
	n := 0
	var vnet []byte
	if p.caps != 0 {
		r.iov[0].Base = &r.hdr[0]
		r.iov[0].SetLen(offload.VnetHdrSize)
		vnet = r.hdr[:]
		n = 1
	}
	r.iov[n].Base = &dst[0]
	r.iov[n].SetLen(len(dst))
	m := &r.msg[0]
	m.Hdr.Iov = &r.iov[0]
	m.Hdr.SetIovlen(n + 1)
	m.Hdr.Flags = 0
	got, err := recvmmsg(p.fd, r.msg[:], unix.MSG_DONTWAIT)
	if err != nil || got != 1 || m.Hdr.Flags&unix.MSG_TRUNC != 0 || int(m.Len) < len(vnet) {
		return 0, nil, false
	}
	return int(m.Len) - len(vnet), vnet, true
}
