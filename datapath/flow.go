package datapath

import "math/bits"

// FlowKey is the fixed-size description of a packet that the datapath
// matches flows on, the equivalent of Open vSwitch's struct flow restricted
// to what a userspace L2/L3 switch needs. Extract fills it from a frame.
//
// The layout is packed by hand so that the struct has no padding: its size
// is a multiple of 8 and every byte belongs to a field, which lets the
// classifier hash and compare it as flowWords 64-bit words (flow_unsafe.go).
// A test asserts this. Fields that a frame does not have are zero.
//
// Values are in host byte order for integers (EthType 0x0800, TpDst 80) and
// in network order for addresses ([4]byte{10, 0, 0, 1}).
type FlowKey struct {
	// Metadata.
	InPort   uint32 // datapath port number the packet arrived on
	RecircID uint32 // recirculation id; 0 until recirculation exists

	// Tunnel metadata (placeholders until tunnel ports exist; zero for
	// frames that were not decapsulated).
	TunID    uint64   // VNI / GRE key
	TunSrc   [16]byte // outer source: IPv4 in the first 4 bytes, or IPv6
	TunDst   [16]byte // outer destination, same encoding
	TunFlags uint16   // TunFlag* bits
	TunTOS   uint8
	TunTTL   uint8
	TunTpDst uint16 // outer UDP destination port

	// L2.
	EthType uint16 // innermost ethertype after VLAN tags, e.g. 0x0800
	EthSrc  [6]byte
	EthDst  [6]byte
	// VLAN holds up to two tags, outermost first. A tag is present when its
	// TPID is non-zero (0x8100 for 802.1Q, 0x88a8 for 802.1ad); TCI is the
	// raw tag control information (PCP 3 bits, DEI 1 bit, VID 12 bits).
	// With one tag only VLAN[0] is set. Frames with more than two tags keep
	// the rest in the payload: EthType is then the third TPID.
	VLAN [2]VLANTag

	// L3.
	ARPOp   uint16 // ARP opcode (1 request, 2 reply); 0 for other frames
	NwProto uint8  // IP protocol (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)
	NwTOS   uint8  // IPv4 TOS / IPv6 traffic class (DSCP and ECN)
	NwTTL   uint8  // IPv4 TTL / IPv6 hop limit
	NwFrag  uint8  // FragAny | FragLater
	// TCPFlags holds the TCP header flags (low 12 bits) of TCP packets.
	TCPFlags uint16
	IPv4Src  [4]byte
	IPv4Dst  [4]byte
	// L4 ports for TCP, UDP and SCTP. For ICMP and ICMPv6 they are zero
	// and ICMPType/ICMPCode are set instead.
	TpSrc   uint16
	TpDst   uint16
	IPv6Src [16]byte
	IPv6Dst [16]byte

	// ARP payload (NwProto is zero for ARP; ARPOp is set).
	ARPSha [6]byte
	ARPTha [6]byte
	ARPSpa [4]byte
	ARPTpa [4]byte

	ICMPType uint8
	ICMPCode uint8
	CtState  uint16 // connection tracking state, placeholder (always 0)
	// IPv6Label is the IPv6 flow label (low 20 bits).
	IPv6Label uint32
	PktMark   uint32 // packet mark, placeholder (always 0)
}

// VLANTag is one 802.1Q or 802.1ad tag in a FlowKey. TPID zero means no tag.
type VLANTag struct {
	TPID uint16
	TCI  uint16
}

// VID returns the tag's 12-bit VLAN id.
func (t VLANTag) VID() uint16 { return t.TCI & 0x0fff }

// PCP returns the tag's 3-bit priority.
func (t VLANTag) PCP() uint8 { return uint8(t.TCI >> 13) }

// Present reports whether the tag exists.
func (t VLANTag) Present() bool { return t.TPID != 0 }

// Mask is a wildcard mask with the same shape as FlowKey: a 1 bit means the
// flow matches that bit of the key, a 0 bit means "don't care". The zero
// Mask matches everything. Masks are what the UpcallHandler returns next to
// the actions, as ofproto's translation un-wildcards every field it reads
// (Open vSwitch's flow_wildcards).
//
// Build one by setting fields to all-ones, for example
//
//	var m datapath.Mask
//	m.InPort = datapath.ExactU32
//	m.EthSrc, m.EthDst = datapath.ExactMAC, datapath.ExactMAC
//	m.VLAN[0] = datapath.VLANTag{TPID: 0xffff, TCI: 0x0fff} // presence + VID
//
// Installed flows always match InPort exactly, whatever the mask says.
type Mask FlowKey

// Values for building masks.
var (
	ExactMAC  = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ExactIPv4 = [4]byte{0xff, 0xff, 0xff, 0xff}
	ExactIPv6 = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// Integer all-ones values for masks.
const (
	ExactU8  uint8  = 0xff
	ExactU16 uint16 = 0xffff
	ExactU32 uint32 = 0xffffffff
	ExactU64 uint64 = 0xffffffffffffffff
)

// ExactMask returns a mask that matches every bit of a key: an exact-match
// megaflow (what a slow path that does not compute wildcards returns).
func ExactMask() Mask {
	var m Mask
	w := maskWords(&m)
	for i := range w {
		w[i] = ^uint64(0)
	}
	return m
}

// NwFrag values.
const (
	FragAny   uint8 = 1 << 0 // the packet is an IP fragment (first or later)
	FragLater uint8 = 1 << 1 // the packet is a fragment other than the first
)

// TunFlags bits.
const (
	TunFlagDontFragment uint16 = 1 << 0
	TunFlagCsum         uint16 = 1 << 1
	TunFlagKey          uint16 = 1 << 2
)

// TCP flag bits as they appear in FlowKey.TCPFlags and flow stats.
const (
	TCPFin uint16 = 0x001
	TCPSyn uint16 = 0x002
	TCPRst uint16 = 0x004
	TCPPsh uint16 = 0x008
	TCPAck uint16 = 0x010
	TCPUrg uint16 = 0x020
	TCPEce uint16 = 0x040
	TCPCwr uint16 = 0x080
	TCPNs  uint16 = 0x100
)

// Ethertypes the extractor understands.
const (
	EthTypeIPv4  uint16 = 0x0800
	EthTypeARP   uint16 = 0x0806
	EthTypeRARP  uint16 = 0x8035
	EthTypeVLAN  uint16 = 0x8100 // 802.1Q C-tag
	EthTypeQinQ  uint16 = 0x88a8 // 802.1ad S-tag
	EthTypeIPv6  uint16 = 0x86dd
	EthTypeMinID uint16 = 0x0600 // values below are 802.3 lengths
)

// IP protocol numbers.
const (
	IPProtoICMP   uint8 = 1
	IPProtoTCP    uint8 = 6
	IPProtoUDP    uint8 = 17
	IPProtoSCTP   uint8 = 132
	IPProtoICMPv6 uint8 = 58
)

// Masked returns k with every bit that m wildcards cleared.
func (k *FlowKey) Masked(m *Mask) FlowKey {
	var out FlowKey
	kw, mw, ow := keyWords(k), maskWords(m), keyWords(&out)
	for i := range ow {
		ow[i] = kw[i] & mw[i]
	}
	return out
}

// Hash returns a 32-bit hash of the whole key, the one the EMC indexes by.
func (k *FlowKey) Hash() uint32 { return hashWords(keyWords(k)) }

// IsZero reports whether m wildcards every field.
func (m *Mask) IsZero() bool {
	for _, w := range maskWords(m) {
		if w != 0 {
			return false
		}
	}
	return true
}

// Hash secrets: odd 64-bit constants from the wyhash family. Pairs of words
// are multiplied as 128-bit products and folded, so the products of
// different pairs are independent and the CPU overlaps them; a serial
// multiply-xorshift chain over 20 words was about three times slower.
const (
	hashK0 = 0xa0761d6478bd642f
	hashK1 = 0xe7037ed1a0b428db
	hashK2 = 0x8ebc6af09c88c6e3
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashWords hashes a whole key for the EMC. Words that are usually zero
// or rarely differ between flows (tunnel metadata, IPv6 and ARP addresses,
// trailing fields) are folded with XOR into the words next to them, so only
// four multiplies remain; they are independent, so the CPU overlaps them.
// Folding can only make distinct keys collide more often, never match
// wrongly: the EMC compares whole keys. This measured about 4 ns against
// 12 ns for ten multiplies over every word. The index expressions stop
// compiling if FlowKey stops being 20 words.
func hashWords(w *[flowWords]uint64) uint32 {
	const _ = uint(flowWords - 20) // FlowKey must stay 20 words
	const _ = uint(20 - flowWords)
	tun := w[1] ^ w[2] ^ w[3] ^ w[4] ^ w[5]
	v6 := w[12] ^ w[13]<<1 ^ w[14]<<2 ^ w[15]<<3
	rest := w[16] ^ w[17] ^ w[18] ^ w[19]
	a := mum(w[0]^tun^hashK0, w[6]^hashK1)
	b := mum(w[7]^hashK2, w[8]^hashK1)
	c := mum(w[9]^rest^hashK0, w[10]^hashK2)
	d := mum(w[11]^v6^hashK1, w[19]^hashK0)
	h := mum(a^c^hashK2, b^d^hashK0)
	return uint32(h ^ h>>32)
}
