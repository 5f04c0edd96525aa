package afpacket

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

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
			if p.scratch == nil {
				// Only ports without virtio-net headers get here:
				// most ports never need these 320 KiB.
				p.txSlab = make([]byte, txSlabSize)
				p.scratch = make([]byte, 64<<10+256)
			}
			if _, ok := offload.Segment(frame, off, p.scratch, p.segOut); !ok {
				p.txDropped.Add(1)
			}
			if p.txErr != nil {
				err := p.txErr
				p.txErr = nil
				return err
			}
		default:
			p.txDropped.Add(1) // unreachable: Accepts takes every plain frame
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
