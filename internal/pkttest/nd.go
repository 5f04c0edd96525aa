package pkttest

import (
	"net/netip"

	"github.com/google/gopacket/layers"
)

// ND is an IPv6 neighbour solicitation or advertisement (RFC 4861).
type ND struct {
	Target netip.Addr
	// LL is the link-layer address option: the source's for a
	// solicitation, the target's for an advertisement. Zero omits it.
	LL [6]byte
	// Router, Solicited and Override are advertisement flags.
	Router, Solicited, Override bool
}

func (n ND) options(opt layers.ICMPv6Opt) layers.ICMPv6Options {
	if n.LL == ([6]byte{}) {
		return nil
	}
	return layers.ICMPv6Options{{Type: opt, Data: append([]byte(nil), n.LL[:]...)}}
}

// ndIP defaults the hop limit to 255, which RFC 4861 requires.
func ndIP(ip IPv6) IPv6 {
	if ip.HopLimit == 0 {
		ip.HopLimit = 255
	}
	return ip
}

// NeighborSolicitation returns an Ethernet/IPv6/ICMPv6 neighbour
// solicitation frame.
func NeighborSolicitation(e Eth, ip IPv6, n ND) []byte {
	nl := ndIP(ip).layer(layers.IPProtocolICMPv6)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	_ = ic.SetNetworkLayerForChecksum(nl)
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: ip6(n.Target, "ND target"), Options: n.options(layers.ICMPv6OptSourceAddress)}
	return frame(e, TypeIPv6, serialize(nl, ic, ns))
}

// NeighborAdvertisement returns an Ethernet/IPv6/ICMPv6 neighbour
// advertisement frame.
func NeighborAdvertisement(e Eth, ip IPv6, n ND) []byte {
	nl := ndIP(ip).layer(layers.IPProtocolICMPv6)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	_ = ic.SetNetworkLayerForChecksum(nl)
	var flags uint8
	if n.Router {
		flags |= 0x80
	}
	if n.Solicited {
		flags |= 0x40
	}
	if n.Override {
		flags |= 0x20
	}
	na := &layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: ip6(n.Target, "ND target"), Options: n.options(layers.ICMPv6OptTargetAddress)}
	return frame(e, TypeIPv6, serialize(nl, ic, na))
}
