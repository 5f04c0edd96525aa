package pkttest

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Well-known tunnel ports (IANA) and the EtherType of an Ethernet frame
// carried by GRE or Geneve.
const (
	PortVXLAN            = 4789
	PortGeneve           = 6081
	TypeTransparentEther = 0x6558
)

// Encap describes a tunnel header for the VXLAN, Geneve and GRE builders.
type Encap struct {
	// VNI is the VXLAN or Geneve network identifier (24 bits), or the GRE
	// key when Key is set.
	VNI uint32
	// Key includes the GRE key field.
	Key bool
	// SrcPort is the outer UDP source port; 0 means 49152.
	SrcPort uint16
	// DstPort is the outer UDP destination port; 0 means PortVXLAN or
	// PortGeneve.
	DstPort uint16
	// Options are raw Geneve options, a multiple of 4 bytes.
	Options []byte
	// UDPChecksum computes the outer UDP checksum over IPv4. Without it the
	// checksum is 0, as Linux and Open vSwitch send by default. Over IPv6
	// the checksum is always computed.
	UDPChecksum bool
}

func (x Encap) ports(dst uint16) (uint16, uint16) {
	src := x.SrcPort
	if src == 0 {
		src = 49152
	}
	if x.DstPort != 0 {
		dst = x.DstPort
	}
	return src, dst
}

// vxlanHeader serialises the 8-byte VXLAN header (RFC 7348) and inner frame.
func vxlanHeader(vni uint32, inner []byte) []byte {
	return serialize(&layers.VXLAN{ValidIDFlag: true, VNI: vni}, gopacket.Payload(inner))
}

// geneveHeader builds the Geneve header (RFC 8926 section 3.4): version 0,
// option length in 4-byte words, no O/C flags, protocol 0x6558, VNI.
func geneveHeader(vni uint32, opts, inner []byte) []byte {
	if len(opts)%4 != 0 || len(opts) > 63*4 {
		panic("pkttest: Geneve options must be a multiple of 4 bytes, at most 252")
	}
	h := make([]byte, 8, 8+len(opts)+len(inner))
	h[0] = byte(len(opts) / 4)
	binary.BigEndian.PutUint16(h[2:], TypeTransparentEther)
	binary.BigEndian.PutUint32(h[4:], vni<<8)
	return append(append(h, opts...), inner...)
}

func udp4Tunnel(e Eth, ip IPv4, x Encap, dst uint16, payload []byte) []byte {
	src, dst := x.ports(dst)
	l3 := udp4Bytes(ip, UDP{Src: src, Dst: dst, Payload: payload})
	if !x.UDPChecksum {
		ihl := int(l3[0]&0x0f) * 4
		l3[ihl+6], l3[ihl+7] = 0, 0
	}
	return frame(e, TypeIPv4, l3)
}

func udp6Tunnel(e Eth, ip IPv6, x Encap, dst uint16, payload []byte) []byte {
	src, dst := x.ports(dst)
	return frame(e, TypeIPv6, udp6Bytes(ip, UDP{Src: src, Dst: dst, Payload: payload}))
}

// VXLAN4 returns inner (an Ethernet frame) in VXLAN over UDP over IPv4.
func VXLAN4(e Eth, ip IPv4, x Encap, inner []byte) []byte {
	return udp4Tunnel(e, ip, x, PortVXLAN, vxlanHeader(x.VNI, inner))
}

// VXLAN6 returns inner in VXLAN over UDP over IPv6.
func VXLAN6(e Eth, ip IPv6, x Encap, inner []byte) []byte {
	return udp6Tunnel(e, ip, x, PortVXLAN, vxlanHeader(x.VNI, inner))
}

// Geneve4 returns inner (an Ethernet frame) in Geneve over UDP over IPv4.
func Geneve4(e Eth, ip IPv4, x Encap, inner []byte) []byte {
	return udp4Tunnel(e, ip, x, PortGeneve, geneveHeader(x.VNI, x.Options, inner))
}

// Geneve6 returns inner in Geneve over UDP over IPv6.
func Geneve6(e Eth, ip IPv6, x Encap, inner []byte) []byte {
	return udp6Tunnel(e, ip, x, PortGeneve, geneveHeader(x.VNI, x.Options, inner))
}

func greLayer(x Encap) *layers.GRE {
	return &layers.GRE{Protocol: TypeTransparentEther, KeyPresent: x.Key, Key: x.VNI}
}

// GRE4 returns inner (an Ethernet frame) in GRE (transparent Ethernet
// bridging, as OVS's gre ports send) over IPv4.
func GRE4(e Eth, ip IPv4, x Encap, inner []byte) []byte {
	return frame(e, TypeIPv4, serialize(ip.layer(layers.IPProtocolGRE), greLayer(x), gopacket.Payload(inner)))
}

// GRE6 returns inner in GRE over IPv6.
func GRE6(e Eth, ip IPv6, x Encap, inner []byte) []byte {
	return frame(e, TypeIPv6, serialize(ip.layer(layers.IPProtocolGRE), greLayer(x), gopacket.Payload(inner)))
}
