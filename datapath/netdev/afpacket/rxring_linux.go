package afpacket

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// TPACKET_V3 layout (linux/if_packet.h): offsets into struct
// tpacket_block_desc and struct tpacket3_hdr.
const (
	blkStatusOff   = 8  // hdr.bh1.block_status
	blkNumPktsOff  = 12 // hdr.bh1.num_pkts
	blkFirstPktOff = 16 // hdr.bh1.offset_to_first_pkt
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

	tpStatusKernel = 0
	tpStatusUser   = 1
	tpStatusCopy   = 2
	tpFrameSize    = 2048 // only sizes the ring's frame count for V3
	minBlockSize   = 128 << 10
)

// rxRing is the TPACKET_V3 receive ring and the walk state through it.
type rxRing struct {
	mem     []byte // the mmapped ring
	blocks  [][]byte
	cur     int  // block being walked
	inBlock bool // cur has been opened (status seen as user)
	pktLeft int  // frames left in cur
	pktOff  int  // offset of the next frame in cur
}

func (r *rxRing) unmap() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem, r.blocks = nil, nil
	}
}

// setupRing creates and maps the ring; it runs before bind.
func (p *Port) setupRing() error {
	o := p.opts
	if o.BlockSize < minBlockSize || o.BlockSize%os.Getpagesize() != 0 {
		return fmt.Errorf("block size %d: %w", o.BlockSize, unix.EINVAL)
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(o.BlockSize),
		Block_nr:       uint32(o.BlockCount),
		Frame_size:     tpFrameSize,
		Frame_nr:       uint32(o.BlockSize / tpFrameSize * o.BlockCount),
		Retire_blk_tov: uint32(max(1, int(o.BlockTimeout.Milliseconds()))),
	}
	if err := unix.SetsockoptTpacketReq3(p.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("rx ring: %w", err)
	}
	mem, err := unix.Mmap(p.fd, 0, o.BlockSize*o.BlockCount, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap ring: %w", err)
	}
	p.ring.mem = mem
	p.ring.blocks = make([][]byte, o.BlockCount)
	for i := range p.ring.blocks {
		p.ring.blocks[i] = mem[i*o.BlockSize : (i+1)*o.BlockSize : (i+1)*o.BlockSize]
	}
	// The slab holds a full batch of MTU-sized frames plus one frame as
	// large as a block (a GSO frame), so any single frame fits.
	p.slab = make([]byte, packet.BatchSize*alignSlot(packet.Headroom+vlanTagSize+2048)+
		alignSlot(packet.Headroom+vlanTagSize+o.BlockSize))
	p.fill = p.fillRing
	return nil
}

// fillRing walks ready ring blocks and copies frames into b.
func (p *Port) fillRing(b *packet.Batch) {
	r := &p.ring
	slabOff := 0
	var nbytes, ndrop, nerr uint64
	for b.N < packet.BatchSize {
		blk := r.blocks[r.cur]
		if !r.inBlock {
			if loadStatus(blk[blkStatusOff:])&tpStatusUser == 0 {
				break
			}
			r.inBlock = true
			r.pktLeft = int(ne.Uint32(blk[blkNumPktsOff:]))
			r.pktOff = int(ne.Uint32(blk[blkFirstPktOff:]))
		}
		if r.pktLeft <= 0 || r.pktOff < blkDescSize || r.pktOff+pktHdrSize+2*ethAlen > len(blk) {
			if r.pktLeft > 0 {
				nerr += uint64(r.pktLeft) // corrupt offsets: skip the rest
			}
			r.nextBlock(blk)
			continue
		}
		h := blk[r.pktOff:]
		snap := int(ne.Uint32(h[pktSnaplenOff:]))
		flen := int(ne.Uint32(h[pktLenOff:]))
		mac := int(ne.Uint16(h[pktMacOff:]))
		status := ne.Uint32(h[pktStatusOff:])
		if mac < pktHdrSize || mac+snap > len(h) {
			nerr += uint64(r.pktLeft)
			r.nextBlock(blk)
			continue
		}
		if h[sllPkttypeOff] == unix.PACKET_OUTGOING {
			r.advance(blk, h)
			continue
		}
		if snap < flen || status&tpStatusCopy != 0 {
			ndrop++ // truncated: larger than a block can hold
			r.advance(blk, h)
			continue
		}
		need := alignSlot(packet.Headroom + vlanTagSize + snap)
		if slabOff+need > len(p.slab) {
			break // slab full: leave the frame for the next Recv
		}
		var vnet []byte
		if p.caps != 0 && mac >= pktHdrSize+offload.VnetHdrSize {
			vnet = h[mac-offload.VnetHdrSize : mac]
		}
		buf := p.slab[slabOff : slabOff+need]
		copy(buf[packet.Headroom+vlanTagSize:], h[mac:mac+snap])
		pkt := &p.pkts[b.N]
		n, ok := p.finish(pkt, buf, packet.Headroom, snap, vnet, status,
			uint16(ne.Uint32(h[pktVlanTCIOff:])), ne.Uint16(h[pktVlanTPOff:]))
		r.advance(blk, h)
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

// advance steps past the frame whose header is h.
func (r *rxRing) advance(blk, h []byte) {
	r.pktLeft--
	next := int(ne.Uint32(h[pktNextOff:]))
	if r.pktLeft <= 0 || next <= 0 {
		r.nextBlock(blk)
		return
	}
	r.pktOff += next
}

// nextBlock hands blk back to the kernel and moves to the next block.
func (r *rxRing) nextBlock(blk []byte) {
	storeStatus(blk[blkStatusOff:], tpStatusKernel)
	r.inBlock = false
	r.pktLeft = 0
	r.cur++
	if r.cur == len(r.blocks) {
		r.cur = 0
	}
}
