package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Tunnel encapsulation (ActTunnelPush) works like Open vSwitch's tnl_push:
// the slow path builds the complete outer header once per flow (Ethernet,
// optionally one VLAN tag, IPv4 or IPv6, then UDP plus the tunnel header
// for VXLAN and Geneve, or GRE), and the datapath copies it in front of
// each packet and fixes the per-packet fields: IP length and IPv4 header
// checksum, UDP length, a UDP source port derived from the inner headers
// (for ECMP entropy, RFC 7348) and, over IPv6, the UDP checksum. Over IPv4
// the UDP checksum stays zero. Decapsulation needs recirculation and is not
// implemented yet (ActTunnelPop drops).

// Tunnel header sizes.
const (
	udpHdrSize   = 8
	tunnelSrcMin = 49152 // UDP source ports come from the dynamic range
	tunnelSrcLen = 16384
)

// tunnelHdr is an ActTunnelPush template parsed once, at compile time.
type tunnelHdr struct {
	hdr []byte
	l3  int  // offset of the outer IP header
	v6  bool // outer IPv6
	ihl int  // IPv4 header size
	l4  int  // offset of the UDP header, or -1 (GRE)
}

var errBadTunnelHeader = errors.New("bad tunnel header template")

// parseTunnelHeader checks a header template and finds its offsets.
func parseTunnelHeader(h []byte) (tunnelHdr, error) {
	t := tunnelHdr{hdr: h, l4: -1}
	if len(h) < ethHeaderSize {
		return t, fmt.Errorf("%w: %d bytes", errBadTunnelHeader, len(h))
	}
	off := 12
	et := binary.BigEndian.Uint16(h[off:])
	if isTPID(et) {
		off += vlanTagSize
		if len(h) < off+2 {
			return t, fmt.Errorf("%w: cut VLAN tag", errBadTunnelHeader)
		}
		et = binary.BigEndian.Uint16(h[off:])
	}
	t.l3 = off + 2
	var proto uint8
	switch et {
	case EthTypeIPv4:
		if len(h) < t.l3+ipv4MinSize || h[t.l3]>>4 != 4 {
			return t, fmt.Errorf("%w: short IPv4 header", errBadTunnelHeader)
		}
		t.ihl = int(h[t.l3]&0x0f) * 4
		if t.ihl < ipv4MinSize || len(h) < t.l3+t.ihl {
			return t, fmt.Errorf("%w: IPv4 header length", errBadTunnelHeader)
		}
		proto = h[t.l3+9]
		t.l4 = t.l3 + t.ihl
	case EthTypeIPv6:
		if len(h) < t.l3+ipv6HeaderSize || h[t.l3]>>4 != 6 {
			return t, fmt.Errorf("%w: short IPv6 header", errBadTunnelHeader)
		}
		t.v6 = true
		proto = h[t.l3+6]
		t.l4 = t.l3 + ipv6HeaderSize
	default:
		return t, fmt.Errorf("%w: outer ethertype %#04x", errBadTunnelHeader, et)
	}
	switch proto {
	case IPProtoUDP:
		if len(h) < t.l4+udpHdrSize {
			return t, fmt.Errorf("%w: short UDP header", errBadTunnelHeader)
		}
	case 47: // GRE
		t.l4 = -1
	default:
		return t, fmt.Errorf("%w: outer protocol %d", errBadTunnelHeader, proto)
	}
	if len(h) > packet.Headroom {
		return t, fmt.Errorf("%w: %d bytes exceed the %d-byte headroom", errBadTunnelHeader, len(h), packet.Headroom)
	}
	return t, nil
}

// TunnelPush returns an ActTunnelPush action that encapsulates packets in
// header, a complete outer header template (see the comment at the top of
// tunnel.go). It checks the template; the datapath keeps it and never
// modifies it.
func TunnelPush(header []byte) (Action, error) {
	if _, err := parseTunnelHeader(header); err != nil {
		return Action{}, err
	}
	return Action{Kind: ActTunnelPush, Data: header}, nil
}

// tunnelPush encapsulates p with t. It reports false (the packet must be
// dropped) for a GSO frame, which would need UDP-tunnel segmentation, or
// when the headroom is too small.
func tunnelPush(p *packet.Packet, t *tunnelHdr) bool {
	if offload.IsGSO(p.Offload) {
		return false
	}
	if p.Offload.Flags&offload.FlagNeedsCsum != 0 {
		if !offload.Checksum(p.Data(), p.Offload) {
			return false
		}
	}
	p.Offload = packet.Offload{}
	inner := p.Len()
	if _, ok := p.Push(len(t.hdr)); !ok {
		return false
	}
	d := p.Data()
	copy(d, t.hdr)
	total := len(t.hdr) + inner
	if t.v6 {
		binary.BigEndian.PutUint16(d[t.l3+4:], uint16(total-t.l3-ipv6HeaderSize))
	} else {
		ip := d[t.l3 : t.l3+t.ihl]
		binary.BigEndian.PutUint16(ip[2:], uint16(total-t.l3))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^offload.Fold(offload.Sum(ip, 0)))
	}
	if t.l4 < 0 {
		return true
	}
	udp := d[t.l4:]
	binary.BigEndian.PutUint16(udp[0:], tunnelSrcMin+uint16(innerHash(d[len(t.hdr):])%tunnelSrcLen))
	binary.BigEndian.PutUint16(udp[4:], uint16(total-t.l4))
	udp[6], udp[7] = 0, 0
	if t.v6 {
		acc := offload.PseudoHeaderSum(d[t.l3+8:t.l3+24], d[t.l3+24:t.l3+40], IPProtoUDP, total-t.l4)
		c := ^offload.Fold(offload.Sum(udp[:total-t.l4], acc))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(udp[6:], c)
	}
	return true
}

// innerHash hashes the inner frame's first 54 bytes (Ethernet, IPv4 or
// IPv6 addresses, ports of an untagged frame), which is enough entropy to
// spread flows over ECMP paths and cheap to compute.
func innerHash(b []byte) uint32 {
	n := min(len(b), 54)
	h := uint64(hashK2)
	for ; n >= 8; n -= 8 {
		h = mum(h^binary.LittleEndian.Uint64(b), hashK0)
		b = b[8:]
	}
	for i := 0; i < n; i++ {
		h = mum(h^uint64(b[i]), hashK1)
	}
	return uint32(h ^ h>>32)
}
