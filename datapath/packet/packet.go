package packet

// Headroom is the space kept in front of every received frame. 128 bytes
// covers the largest encapsulation planned (outer Ethernet 14 + IPv6 40 +
// UDP 8 + Geneve 8 with options, plus two VLAN tags) without a copy.
const Headroom = 128

// BatchSize is the number of packets a Batch holds. 32 is Open vSwitch's
// NETDEV_MAX_BURST: large enough to amortise one system call or ring update,
// small enough that a batch stays in L1/L2 cache.
const BatchSize = 32

// Offload is the virtio-net header metadata carried with a frame received
// from a port that supports it (PACKET_VNET_HDR, IFF_VNET_HDR). A zero value
// means a plain, fully checksummed, unsegmented frame.
type Offload struct {
	Flags      uint8  // VIRTIO_NET_HDR_F_*: 1 = NEEDS_CSUM, 2 = DATA_VALID
	GSOType    uint8  // VIRTIO_NET_HDR_GSO_*: 0 none, 1 TCPv4, 3 UDP, 4 TCPv6, 0x80 ECN
	HdrLen     uint16 // length of the headers before the payload
	GSOSize    uint16 // segment payload size
	CsumStart  uint16 // offset from the start of the frame where checksumming starts
	CsumOffset uint16 // offset from CsumStart where the checksum is stored
}

// Packet is one frame in a buffer owned by the port that received it (or by
// whoever built it, for packets injected by Execute). Its bytes stay valid
// until that port's next Recv call.
type Packet struct {
	buf        []byte
	start, end int

	// InPort is the datapath port number the frame arrived on.
	InPort uint32
	// Offload is the frame's virtio-net header, when the port provides one.
	Offload Offload
}

// New wraps buf (which must have Headroom spare bytes in front of the frame)
// as a packet whose frame is buf[Headroom:Headroom+n].
func New(buf []byte, n int) *Packet {
	p := &Packet{}
	p.Reset(buf, Headroom, Headroom+n)
	return p
}

// FromFrame copies frame into a new buffer with headroom. It allocates and is
// meant for tests, Execute from the slow path, and tools, not the hot path.
func FromFrame(frame []byte) *Packet {
	buf := make([]byte, Headroom+len(frame)+64)
	copy(buf[Headroom:], frame)
	return New(buf, len(frame))
}

// Reset points the packet at buf[start:end] and clears its metadata.
func (p *Packet) Reset(buf []byte, start, end int) {
	p.buf, p.start, p.end = buf, start, end
	p.InPort = 0
	p.Offload = Offload{}
}

// Data returns the frame's bytes. The slice aliases the packet's buffer.
func (p *Packet) Data() []byte { return p.buf[p.start:p.end] }

// Len returns the frame's length in bytes.
func (p *Packet) Len() int { return p.end - p.start }

// Buffer returns the whole underlying buffer and the frame's bounds in it, for
// providers that transmit or recycle buffers directly.
func (p *Packet) Buffer() (buf []byte, start, end int) { return p.buf, p.start, p.end }

// Headroom returns how many bytes can be pushed in front of the frame.
func (p *Packet) Headroom() int { return p.start }

// Tailroom returns how many bytes the frame can grow by at its end.
func (p *Packet) Tailroom() int { return len(p.buf) - p.end }

// Push grows the frame by n bytes at the front and returns the new first n
// bytes. It reports false, changing nothing, when the headroom is too small.
func (p *Packet) Push(n int) ([]byte, bool) {
	if n < 0 || n > p.start {
		return nil, false
	}
	p.start -= n
	return p.buf[p.start : p.start+n], true
}

// Pull removes n bytes from the front of the frame. It reports false,
// changing nothing, when the frame is shorter than n.
func (p *Packet) Pull(n int) bool {
	if n < 0 || n > p.end-p.start {
		return false
	}
	p.start += n
	return true
}

// SetLen sets the frame's length, keeping its start. It reports false when
// n does not fit the buffer.
func (p *Packet) SetLen(n int) bool {
	if n < 0 || p.start+n > len(p.buf) {
		return false
	}
	p.end = p.start + n
	return true
}

// Batch is up to BatchSize packets. The poll loop that owns it creates it once
// and resets it; nothing reallocates it.
type Batch struct {
	Pkts [BatchSize]*Packet
	N    int
}

// Packets returns the batch's packets as a slice of the fixed array.
func (b *Batch) Packets() []*Packet { return b.Pkts[:b.N] }

// Reset empties the batch without touching the packets it held.
func (b *Batch) Reset() { b.N = 0 }

// Add appends p and reports false when the batch is full.
func (b *Batch) Add(p *Packet) bool {
	if b.N == BatchSize {
		return false
	}
	b.Pkts[b.N] = p
	b.N++
	return true
}

// Full reports whether the batch holds BatchSize packets.
func (b *Batch) Full() bool { return b.N == BatchSize }
