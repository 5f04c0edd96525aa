package datapath

import (
	"encoding/binary"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Header sizes in bytes.
const (
	ethHeaderSize  = 14
	vlanTagSize    = 4
	ipv4MinSize    = 20
	ipv6HeaderSize = 40
	arpIPv4Size    = 28
	tcpMinSize     = 20
	udpHeaderSize  = 8
	icmpMinSize    = 4
	// maxIPv6ExtHeaders bounds the extension-header walk so that a crafted
	// chain cannot make extraction slow.
	maxIPv6ExtHeaders = 8
	// ethTypeNone is what Open vSwitch stores as dl_type for 802.3 frames
	// without a SNAP header (FLOW_DL_TYPE_NONE).
	ethTypeNone uint16 = 0x05ff
)

// Extract fills k from pkt's frame, with InPort set to inPort. It never
// allocates and never fails: a truncated or malformed header ends parsing
// there, leaving the deeper fields zero (Open vSwitch does the same), and
// the frame is then matched on what was parsed.
func Extract(pkt *packet.Packet, inPort uint32, k *FlowKey) {
	ExtractFrame(pkt.Data(), inPort, k)
}

// ExtractFrame is Extract on a raw Ethernet frame.
func ExtractFrame(b []byte, inPort uint32, k *FlowKey) {
	*k = FlowKey{InPort: inPort}
	if len(b) < ethHeaderSize {
		return
	}
	copy(k.EthDst[:], b[0:6])
	copy(k.EthSrc[:], b[6:12])
	off := 12
	et := binary.BigEndian.Uint16(b[off:])
	for i := 0; i < 2 && isTPID(et); i++ {
		if len(b) < off+vlanTagSize+2 {
			// A tag cut short: keep what we have, as an 802.3-less frame.
			return
		}
		k.VLAN[i] = VLANTag{TPID: et, TCI: binary.BigEndian.Uint16(b[off+2:])}
		off += vlanTagSize
		et = binary.BigEndian.Uint16(b[off:])
	}
	off += 2
	if et < EthTypeMinID {
		// 802.3 length field: look for LLC/SNAP (AA AA 03, OUI 0).
		if len(b) >= off+8 && b[off] == 0xaa && b[off+1] == 0xaa && b[off+2] == 0x03 &&
			b[off+3] == 0 && b[off+4] == 0 && b[off+5] == 0 {
			et = binary.BigEndian.Uint16(b[off+6:])
			off += 8
		} else {
			k.EthType = ethTypeNone
			return
		}
	}
	k.EthType = et
	l3 := b[off:]
	switch et {
	case EthTypeIPv4:
		extractIPv4(l3, k)
	case EthTypeIPv6:
		extractIPv6(l3, k)
	case EthTypeARP, EthTypeRARP:
		extractARP(l3, k)
	}
}

func isTPID(et uint16) bool {
	return et == EthTypeVLAN || et == EthTypeQinQ || et == 0x9100
}

func extractIPv4(b []byte, k *FlowKey) {
	if len(b) < ipv4MinSize || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	totLen := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < ipv4MinSize || len(b) < ihl || totLen < ihl {
		return
	}
	if totLen < len(b) {
		b = b[:totLen] // drop Ethernet padding
	}
	copy(k.IPv4Src[:], b[12:16])
	copy(k.IPv4Dst[:], b[16:20])
	k.NwTOS = b[1]
	k.NwTTL = b[8]
	k.NwProto = b[9]
	fragOff := binary.BigEndian.Uint16(b[6:])
	if fragOff&0x3fff != 0 { // MF flag or a non-zero offset
		k.NwFrag = FragAny
		if fragOff&0x1fff != 0 {
			k.NwFrag |= FragLater
			return // no L4 header in later fragments
		}
	}
	extractL4(b[ihl:], k, false)
}

func extractIPv6(b []byte, k *FlowKey) {
	if len(b) < ipv6HeaderSize || b[0]>>4 != 6 {
		return
	}
	vtcfl := binary.BigEndian.Uint32(b[0:])
	k.NwTOS = uint8(vtcfl >> 20)
	k.IPv6Label = vtcfl & 0x000fffff
	payLen := int(binary.BigEndian.Uint16(b[4:]))
	next := b[6]
	k.NwTTL = b[7]
	copy(k.IPv6Src[:], b[8:24])
	copy(k.IPv6Dst[:], b[24:40])
	b = b[ipv6HeaderSize:]
	if payLen < len(b) {
		b = b[:payLen]
	}
	for i := 0; i < maxIPv6ExtHeaders; i++ {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 8 {
				k.NwProto = next
				return
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				k.NwProto = next
				return
			}
			next, b = b[0], b[n:]
		case 51: // AH: length in 4-byte units, minus 2
			if len(b) < 8 {
				k.NwProto = next
				return
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				k.NwProto = next
				return
			}
			next, b = b[0], b[n:]
		case 44: // fragment
			if len(b) < 8 {
				k.NwProto = next
				return
			}
			fragOff := binary.BigEndian.Uint16(b[2:])
			next, b = b[0], b[8:]
			k.NwFrag = FragAny
			if fragOff&0xfff8 != 0 {
				k.NwFrag |= FragLater
				k.NwProto = next
				return
			}
		default:
			k.NwProto = next
			extractL4(b, k, true)
			return
		}
	}
	k.NwProto = next
}

func extractL4(b []byte, k *FlowKey, v6 bool) {
	switch k.NwProto {
	case IPProtoTCP:
		if len(b) < tcpMinSize {
			return
		}
		doff := int(b[12]>>4) * 4
		if doff < tcpMinSize || len(b) < doff {
			return
		}
		k.TpSrc = binary.BigEndian.Uint16(b[0:])
		k.TpDst = binary.BigEndian.Uint16(b[2:])
		k.TCPFlags = binary.BigEndian.Uint16(b[12:]) & 0x0fff
	case IPProtoUDP:
		if len(b) < udpHeaderSize {
			return
		}
		k.TpSrc = binary.BigEndian.Uint16(b[0:])
		k.TpDst = binary.BigEndian.Uint16(b[2:])
	case IPProtoSCTP:
		if len(b) < 12 {
			return
		}
		k.TpSrc = binary.BigEndian.Uint16(b[0:])
		k.TpDst = binary.BigEndian.Uint16(b[2:])
	case IPProtoICMP:
		if !v6 && len(b) >= icmpMinSize {
			k.ICMPType, k.ICMPCode = b[0], b[1]
		}
	case IPProtoICMPv6:
		if v6 && len(b) >= icmpMinSize {
			k.ICMPType, k.ICMPCode = b[0], b[1]
		}
	}
}

func extractARP(b []byte, k *FlowKey) {
	// Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
	if len(b) < arpIPv4Size || binary.BigEndian.Uint16(b[0:]) != 1 ||
		binary.BigEndian.Uint16(b[2:]) != EthTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return
	}
	k.ARPOp = binary.BigEndian.Uint16(b[6:])
	copy(k.ARPSha[:], b[8:14])
	copy(k.ARPSpa[:], b[14:18])
	copy(k.ARPTha[:], b[18:24])
	copy(k.ARPTpa[:], b[24:28])
}
