package pkttest

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// EtherTypes and TPIDs used by the builders.
const (
	TypeIPv4   = 0x0800
	TypeARP    = 0x0806
	TypeIPv6   = 0x86dd
	TPID8021Q  = 0x8100 // customer VLAN tag (C-tag)
	TPID8021AD = 0x88a8 // service VLAN tag (S-tag, QinQ)
)

// Broadcast is ff:ff:ff:ff:ff:ff.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// MustMAC parses a MAC address such as "02:00:00:00:00:01"; it panics on a
// malformed one.
func MustMAC(s string) [6]byte {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		panic(fmt.Sprintf("pkttest: bad MAC %q", s))
	}
	return [6]byte(hw)
}

// VLAN is one 802.1Q/802.1ad tag.
type VLAN struct {
	// TPID is the tag protocol identifier; 0 means TPID8021Q.
	TPID uint16
	PCP  uint8 // priority code point, 0-7
	DEI  bool  // drop eligible indicator
	VID  uint16
}

// Eth is the Ethernet header, with optional tags.
type Eth struct {
	Src, Dst [6]byte
	// VLANs are the tags, outermost first (an S-tag before a C-tag).
	VLANs []VLAN
	// Type is the EtherType after the tags. 0 means the builder's own
	// (TypeIPv4 for UDP4, ...); Frame requires it.
	Type uint16
	// NoPad skips padding the frame to 60 bytes.
	NoPad bool
}

// IPv4 is the IPv4 header. Length, protocol and checksum are filled in.
type IPv4 struct {
	Src, Dst netip.Addr
	TTL      uint8 // 0 means 64
	TOS      uint8 // DSCP << 2 | ECN
	ID       uint16
	DF       bool // don't fragment
	MF       bool // more fragments
	// FragOffset is the fragment offset in 8-byte units.
	FragOffset uint16
}

// IPv6 is the IPv6 header. Payload length and next header are filled in.
type IPv6 struct {
	Src, Dst     netip.Addr
	HopLimit     uint8 // 0 means 64
	TrafficClass uint8
	FlowLabel    uint32
}

// UDP is a UDP header and payload; length and checksum are filled in.
type UDP struct {
	Src, Dst uint16
	Payload  []byte
}

// TCPFlags are TCP header flags.
type TCPFlags uint16

// TCP flag bits.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// TCP is a TCP header (no options) and payload; the checksum is filled in.
type TCP struct {
	Src, Dst uint16
	Seq, Ack uint32
	Flags    TCPFlags
	Window   uint16 // 0 means 65535
	Payload  []byte
}

// ICMPEcho is an ICMP or ICMPv6 echo request, or reply when Reply is set.
type ICMPEcho struct {
	ID, Seq uint16
	Reply   bool
	Payload []byte
}

// ARP is an Ethernet/IPv4 ARP packet.
type ARP struct {
	// Op is 1 (request) or 2 (reply); 0 means request.
	Op  uint16
	SHA [6]byte
	SPA netip.Addr
	THA [6]byte
	TPA netip.Addr
}

// Frame returns an Ethernet frame carrying payload; e.Type must be set.
func Frame(e Eth, payload []byte) []byte {
	if e.Type == 0 {
		panic("pkttest: Frame needs Eth.Type")
	}
	return frame(e, e.Type, payload)
}

// frame serialises the Ethernet header, the tags and an already serialised
// payload, padding unless e.NoPad.
func frame(e Eth, typ uint16, payload []byte) []byte {
	if e.Type != 0 {
		typ = e.Type
	}
	tpid := func(i int) layers.EthernetType {
		if e.VLANs[i].TPID == 0 {
			return TPID8021Q
		}
		return layers.EthernetType(e.VLANs[i].TPID)
	}
	eth := &layers.Ethernet{SrcMAC: e.Src[:], DstMAC: e.Dst[:], EthernetType: layers.EthernetType(typ)}
	ls := []gopacket.SerializableLayer{eth}
	for i, v := range e.VLANs {
		if i == 0 {
			eth.EthernetType = tpid(0)
		}
		next := layers.EthernetType(typ)
		if i+1 < len(e.VLANs) {
			next = tpid(i + 1)
		}
		ls = append(ls, &layers.Dot1Q{Priority: v.PCP, DropEligible: v.DEI, VLANIdentifier: v.VID, Type: next})
	}
	ls = append(ls, gopacket.Payload(payload))
	b := serialize(ls...)
	if n := 14 + 4*len(e.VLANs) + len(payload); e.NoPad && len(b) > n {
		b = b[:n]
	}
	return b
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic(fmt.Sprintf("pkttest: serialize: %v", err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ip4(a netip.Addr, what string) net.IP {
	if !a.Is4() {
		panic(fmt.Sprintf("pkttest: %s %v is not an IPv4 address", what, a))
	}
	return a.AsSlice()
}

func ip6(a netip.Addr, what string) net.IP {
	if !a.Is6() || a.Is4In6() {
		panic(fmt.Sprintf("pkttest: %s %v is not an IPv6 address", what, a))
	}
	return a.AsSlice()
}

func (h IPv4) layer(proto layers.IPProtocol) *layers.IPv4 {
	l := &layers.IPv4{
		Version: 4, TOS: h.TOS, Id: h.ID, TTL: h.TTL, Protocol: proto,
		FragOffset: h.FragOffset, SrcIP: ip4(h.Src, "source"), DstIP: ip4(h.Dst, "destination"),
	}
	if l.TTL == 0 {
		l.TTL = 64
	}
	if h.DF {
		l.Flags |= layers.IPv4DontFragment
	}
	if h.MF {
		l.Flags |= layers.IPv4MoreFragments
	}
	return l
}

func (h IPv6) layer(next layers.IPProtocol) *layers.IPv6 {
	l := &layers.IPv6{
		Version: 6, TrafficClass: h.TrafficClass, FlowLabel: h.FlowLabel, NextHeader: next,
		HopLimit: h.HopLimit, SrcIP: ip6(h.Src, "source"), DstIP: ip6(h.Dst, "destination"),
	}
	if l.HopLimit == 0 {
		l.HopLimit = 64
	}
	return l
}

func (u UDP) layers(nl gopacket.NetworkLayer) []gopacket.SerializableLayer {
	l := &layers.UDP{SrcPort: layers.UDPPort(u.Src), DstPort: layers.UDPPort(u.Dst)}
	_ = l.SetNetworkLayerForChecksum(nl)
	return []gopacket.SerializableLayer{l, gopacket.Payload(u.Payload)}
}

func (t TCP) layers(nl gopacket.NetworkLayer) []gopacket.SerializableLayer {
	l := &layers.TCP{
		SrcPort: layers.TCPPort(t.Src), DstPort: layers.TCPPort(t.Dst), Seq: t.Seq, Ack: t.Ack, Window: t.Window,
		FIN: t.Flags&FIN != 0, SYN: t.Flags&SYN != 0, RST: t.Flags&RST != 0, PSH: t.Flags&PSH != 0,
		ACK: t.Flags&ACK != 0, URG: t.Flags&URG != 0, ECE: t.Flags&ECE != 0, CWR: t.Flags&CWR != 0,
	}
	if l.Window == 0 {
		l.Window = 65535
	}
	_ = l.SetNetworkLayerForChecksum(nl)
	return []gopacket.SerializableLayer{l, gopacket.Payload(t.Payload)}
}

// IPv4Packet returns a frame carrying an IPv4 packet with protocol proto
// and an already serialised payload (no transport checksum is computed).
func IPv4Packet(e Eth, ip IPv4, proto uint8, payload []byte) []byte {
	return frame(e, TypeIPv4, serialize(ip.layer(layers.IPProtocol(proto)), gopacket.Payload(payload)))
}

// IPv6Packet returns a frame carrying an IPv6 packet with next header next
// and an already serialised payload.
func IPv6Packet(e Eth, ip IPv6, next uint8, payload []byte) []byte {
	return frame(e, TypeIPv6, serialize(ip.layer(layers.IPProtocol(next)), gopacket.Payload(payload)))
}

// UDP4 returns an Ethernet/IPv4/UDP frame.
func UDP4(e Eth, ip IPv4, u UDP) []byte {
	return frame(e, TypeIPv4, udp4Bytes(ip, u))
}

// UDP6 returns an Ethernet/IPv6/UDP frame.
func UDP6(e Eth, ip IPv6, u UDP) []byte {
	return frame(e, TypeIPv6, udp6Bytes(ip, u))
}

func udp4Bytes(ip IPv4, u UDP) []byte {
	nl := ip.layer(layers.IPProtocolUDP)
	return serialize(append([]gopacket.SerializableLayer{nl}, u.layers(nl)...)...)
}

func udp6Bytes(ip IPv6, u UDP) []byte {
	nl := ip.layer(layers.IPProtocolUDP)
	return serialize(append([]gopacket.SerializableLayer{nl}, u.layers(nl)...)...)
}

// TCP4 returns an Ethernet/IPv4/TCP frame.
func TCP4(e Eth, ip IPv4, t TCP) []byte {
	nl := ip.layer(layers.IPProtocolTCP)
	return frame(e, TypeIPv4, serialize(append([]gopacket.SerializableLayer{nl}, t.layers(nl)...)...))
}

// TCP6 returns an Ethernet/IPv6/TCP frame.
func TCP6(e Eth, ip IPv6, t TCP) []byte {
	nl := ip.layer(layers.IPProtocolTCP)
	return frame(e, TypeIPv6, serialize(append([]gopacket.SerializableLayer{nl}, t.layers(nl)...)...))
}

// ICMP4Echo returns an Ethernet/IPv4/ICMP echo request (or reply) frame.
func ICMP4Echo(e Eth, ip IPv4, c ICMPEcho) []byte {
	typ := uint8(layers.ICMPv4TypeEchoRequest)
	if c.Reply {
		typ = layers.ICMPv4TypeEchoReply
	}
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: c.ID, Seq: c.Seq}
	return frame(e, TypeIPv4, serialize(ip.layer(layers.IPProtocolICMPv4), ic, gopacket.Payload(c.Payload)))
}

// ICMP6Echo returns an Ethernet/IPv6/ICMPv6 echo request (or reply) frame.
func ICMP6Echo(e Eth, ip IPv6, c ICMPEcho) []byte {
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if c.Reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	nl := ip.layer(layers.IPProtocolICMPv6)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	_ = ic.SetNetworkLayerForChecksum(nl)
	echo := &layers.ICMPv6Echo{Identifier: c.ID, SeqNumber: c.Seq}
	return frame(e, TypeIPv6, serialize(nl, ic, echo, gopacket.Payload(c.Payload)))
}

// ARPFrame returns an Ethernet/ARP frame.
func ARPFrame(e Eth, a ARP) []byte {
	op := a.Op
	if op == 0 {
		op = layers.ARPRequest
	}
	l := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: a.SHA[:], SourceProtAddress: ip4(a.SPA, "ARP sender"),
		DstHwAddress: a.THA[:], DstProtAddress: ip4(a.TPA, "ARP target"),
	}
	return frame(e, TypeARP, serialize(l))
}

// ARPRequest returns a broadcast "who has tpa, tell spa" from src.
func ARPRequest(src [6]byte, spa, tpa netip.Addr) []byte {
	return ARPFrame(Eth{Src: src, Dst: Broadcast}, ARP{Op: layers.ARPRequest, SHA: src, SPA: spa, TPA: tpa})
}

// ARPReply returns "spa is at src", sent from src to dst (who is tpa).
func ARPReply(src, dst [6]byte, spa, tpa netip.Addr) []byte {
	return ARPFrame(Eth{Src: src, Dst: dst}, ARP{Op: layers.ARPReply, SHA: src, SPA: spa, THA: dst, TPA: tpa})
}

// Decode parses frame as Ethernet with gopacket, copying it first.
func Decode(frame []byte) gopacket.Packet {
	return gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
}
