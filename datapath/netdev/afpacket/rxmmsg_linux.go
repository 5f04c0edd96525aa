package afpacket

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

const (
	// auxdataSize is sizeof(struct tpacket_auxdata); cmsgSize its control
	// message with header and padding (CMSG_SPACE).
	auxdataSize = 20
	cmsgHdrSize = 16
	cmsgSize    = cmsgHdrSize + (auxdataSize+7)&^7
	// rcvBuf is the socket buffer asked for in RxMmsg mode: room for a
	// burst of 64 KiB GSO frames while the poll goroutine is busy.
	rcvBuf = 4 << 20
)

// mmsgBatch is how many messages one recvmmsg asks for; frames beyond a
// packet.Batch wait in the slab for the next Recv. Tests change it to
// measure larger vectors (see doc.go).
var mmsgBatch = packet.BatchSize

// rxMmsg is the recvmmsg receive state: one message per slot, each
// scattering into a virtio-net header and a slab slot, with a
// PACKET_AUXDATA control message and the sender's link-layer address.
type rxMmsg struct {
	msgs  []unix.Mmsghdr
	iovs  [][2]unix.Iovec
	hdrs  [][offload.VnetHdrSize]byte
	names []unix.RawSockaddrLinklayer
	cmsgs [][cmsgSize]byte
	slot  int
	next  int // first message not yet handed out
	got   int // messages the last recvmmsg filled
	// active is how many messages have a slab slot: one until the first
	// frame arrives, so an idle port (a lazy ring's first socket, most
	// ports of a large bridge) holds one 64 KiB slot, not a batch of them.
	active int
	// oneSlot keeps a lazy port's first socket at one slot until its ring
	// is being built (or refused): a port that sees a few frames (IPv6
	// link-up multicast) would otherwise hold a whole vector of 64 KiB
	// slots, 2 MiB, for good.
	oneSlot bool
}

// setupMmsg asks for PACKET_AUXDATA and a larger socket buffer, and points
// the messages at their buffers (recvmmsg leaves iovecs alone): only the
// first until the port has received a frame, see growMmsg.
func (p *Port) setupMmsg() error {
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fmt.Errorf("packet auxdata: %w", err)
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		_ = unix.SetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	nb := max(1, mmsgBatch)
	m := &rxMmsg{
		slot:  alignSlot(packet.Headroom + vlanTagSize + maxFrame),
		msgs:  make([]unix.Mmsghdr, nb),
		iovs:  make([][2]unix.Iovec, nb),
		hdrs:  make([][offload.VnetHdrSize]byte, nb),
		names: make([]unix.RawSockaddrLinklayer, nb),
		cmsgs: make([][cmsgSize]byte, nb),
	}
	for i := range m.msgs {
		h := &m.msgs[i].Hdr
		h.Iov = &m.iovs[i][0]
		h.Name = (*byte)(ptrOf(&m.names[i]))
		h.Control = &m.cmsgs[i][0]
	}
	p.mm = m
	p.growMmsg(1)
	p.fill = p.fillMmsg
	return nil
}

// growMmsg gives the first n messages a slot in a new slab of n slots and
// points their iovecs there. Frames handed out from the old slab must no
// longer be in use (it is called before a refill).
func (p *Port) growMmsg(n int) {
	m := p.mm
	n = min(n, len(m.msgs))
	p.slab = make([]byte, n*m.slot)
	for i := range n {
		iov := &m.iovs[i]
		k := 0
		if p.caps != 0 {
			iov[0].Base = &m.hdrs[i][0]
			iov[0].SetLen(offload.VnetHdrSize)
			k = 1
		}
		frame := p.slab[i*m.slot+packet.Headroom+vlanTagSize : (i+1)*m.slot]
		iov[k].Base = &frame[0]
		iov[k].SetLen(len(frame))
		m.msgs[i].Hdr.SetIovlen(k + 1)
	}
	m.active = n
}

// fillMmsg receives up to a batch with one non-blocking recvmmsg. Frames
// land in place behind Headroom plus four bytes, so a stripped VLAN tag is
// put back by moving only the two MAC addresses.
func (p *Port) fillMmsg(b *packet.Batch) {
	m := p.mm
	if m.next >= m.got {
		// Everything handed out before is no longer valid: refill,
		// with the whole vector once the port has seen traffic.
		if m.got > 0 && m.active < len(m.msgs) && !m.oneSlot {
			p.growMmsg(len(m.msgs))
		}
		m.next, m.got = 0, 0
		for i := range m.msgs[:m.active] {
			h := &m.msgs[i].Hdr
			h.Namelen = unix.SizeofSockaddrLinklayer
			h.SetControllen(cmsgSize)
			h.Flags = 0
		}
		n, err := recvmmsg(p.fd, m.msgs[:m.active], unix.MSG_DONTWAIT)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				p.rxErrors.Add(1)
			}
			return
		}
		m.got = n
	}
	var nbytes, ndrop, nerr uint64
	vsz := 0
	if p.caps != 0 {
		vsz = offload.VnetHdrSize
	}
	for ; m.next < m.got && b.N < packet.BatchSize; m.next++ {
		i := m.next
		msg := &m.msgs[i]
		if m.names[i].Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if msg.Hdr.Flags&unix.MSG_TRUNC != 0 {
			ndrop++
			continue
		}
		flen := int(msg.Len) - vsz
		var vnet []byte
		if vsz != 0 {
			vnet = m.hdrs[i][:]
		}
		status, tci, tpid := auxdata(m.cmsgs[i][:min(int(msg.Hdr.Controllen), cmsgSize)])
		pkt := &p.pkts[b.N]
		fl, ok := p.finish(pkt, p.slab[i*m.slot:(i+1)*m.slot], packet.Headroom, flen, vnet, status, tci, tpid)
		if !ok {
			nerr++
			continue
		}
		b.Pkts[b.N] = pkt
		b.N++
		nbytes += uint64(fl)
	}
	p.countRx(b.N, nbytes, ndrop, nerr)
}

// auxdata extracts status and VLAN fields from a PACKET_AUXDATA control
// message (struct tpacket_auxdata), or zeros when there is none.
func auxdata(c []byte) (status uint32, tci, tpid uint16) {
	if len(c) < cmsgHdrSize+auxdataSize {
		return 0, 0, 0
	}
	if int32(ne.Uint32(c[8:])) != unix.SOL_PACKET || int32(ne.Uint32(c[12:])) != unix.PACKET_AUXDATA {
		return 0, 0, 0
	}
	d := c[cmsgHdrSize:]
	return ne.Uint32(d[0:]), ne.Uint16(d[16:]), ne.Uint16(d[18:])
}
