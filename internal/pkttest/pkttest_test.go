package pkttest_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

var (
	macA = pkttest.MustMAC("02:00:00:00:00:01")
	macB = pkttest.MustMAC("02:00:00:00:00:02")
	a4   = netip.MustParseAddr("10.0.0.1")
	b4   = netip.MustParseAddr("10.0.0.2")
	a6   = netip.MustParseAddr("fd00::1")
	b6   = netip.MustParseAddr("fd00::2")
	eth  = pkttest.Eth{Src: macA, Dst: macB}
	ip4  = pkttest.IPv4{Src: a4, Dst: b4}
	ip6  = pkttest.IPv6{Src: a6, Dst: b6}
)

// sum16 is a plain reference one's-complement sum (RFC 1071).
func sum16(parts ...[]byte) uint16 {
	var s uint32
	for _, p := range parts {
		for i := 0; i+1 < len(p); i += 2 {
			s += uint32(p[i])<<8 | uint32(p[i+1])
		}
		if len(p)%2 == 1 {
			s += uint32(p[len(p)-1]) << 8
		}
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// l4Valid checks a transport checksum over the pseudo-header by hand.
func l4Valid(t *testing.T, l3 []byte) {
	t.Helper()
	var pseudo, seg []byte
	switch l3[0] >> 4 {
	case 4:
		ihl := int(l3[0]&0xf) * 4
		if sum16(l3[:ihl]) != 0xffff {
			t.Fatalf("IPv4 header checksum wrong")
		}
		total := int(binary.BigEndian.Uint16(l3[2:]))
		seg = l3[ihl:total]
		pseudo = append(append([]byte{}, l3[12:20]...), 0, l3[9], byte(len(seg)>>8), byte(len(seg)))
	case 6:
		plen := int(binary.BigEndian.Uint16(l3[4:]))
		seg = l3[40 : 40+plen]
		pseudo = append(append([]byte{}, l3[8:40]...), 0, 0, byte(plen>>8), byte(plen), 0, 0, 0, l3[6])
	}
	if l3[0]>>4 == 4 && l3[9] == 1 { // ICMPv4 has no pseudo-header
		pseudo = nil
	}
	if got := sum16(pseudo, seg); got != 0xffff {
		t.Fatalf("transport checksum wrong (sum %#04x)", got)
	}
}

func TestBuilders(t *testing.T) {
	payload := []byte("hello")
	tests := []struct {
		name  string
		frame []byte
		typ   uint16
		layer gopacket.LayerType
		size  int // total frame size
	}{
		{"udp4", pkttest.UDP4(eth, ip4, pkttest.UDP{Src: 1000, Dst: 2000, Payload: payload}), pkttest.TypeIPv4, layers.LayerTypeUDP, 14 + 20 + 8 + 5},
		{"tcp4", pkttest.TCP4(eth, ip4, pkttest.TCP{Src: 1, Dst: 80, Flags: pkttest.SYN | pkttest.ACK, Payload: payload}), pkttest.TypeIPv4, layers.LayerTypeTCP, 14 + 20 + 20 + 5},
		{"icmp4", pkttest.ICMP4Echo(eth, ip4, pkttest.ICMPEcho{ID: 7, Seq: 1, Payload: payload}), pkttest.TypeIPv4, layers.LayerTypeICMPv4, 60},
		{"udp6", pkttest.UDP6(eth, ip6, pkttest.UDP{Src: 1000, Dst: 2000, Payload: payload}), pkttest.TypeIPv6, layers.LayerTypeUDP, 14 + 40 + 8 + 5},
		{"tcp6", pkttest.TCP6(eth, ip6, pkttest.TCP{Src: 1, Dst: 80, Flags: pkttest.SYN}), pkttest.TypeIPv6, layers.LayerTypeTCP, 14 + 40 + 20},
		{"icmp6", pkttest.ICMP6Echo(eth, ip6, pkttest.ICMPEcho{ID: 7, Seq: 1, Reply: true}), pkttest.TypeIPv6, layers.LayerTypeICMPv6Echo, 14 + 40 + 8},
		{"arp", pkttest.ARPRequest(macA, a4, b4), pkttest.TypeARP, layers.LayerTypeARP, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.size < 60 {
				tt.size = 60 // Ethernet minimum
			}
			if len(tt.frame) != tt.size {
				t.Fatalf("size %d, want %d", len(tt.frame), tt.size)
			}
			if got := binary.BigEndian.Uint16(tt.frame[12:]); got != tt.typ {
				t.Fatalf("EtherType %#04x, want %#04x", got, tt.typ)
			}
			p := pkttest.Decode(tt.frame)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("decode: %v", el.Error())
			}
			if p.Layer(tt.layer) == nil {
				t.Fatalf("no %v layer in %v", tt.layer, p)
			}
			if tt.typ != pkttest.TypeARP {
				l4Valid(t, tt.frame[14:])
			}
		})
	}
}

func TestVLANStack(t *testing.T) {
	e := pkttest.Eth{Src: macA, Dst: macB, VLANs: []pkttest.VLAN{
		{TPID: pkttest.TPID8021AD, VID: 100, PCP: 5},
		{VID: 10, DEI: true},
	}, NoPad: true}
	f := pkttest.UDP4(e, ip4, pkttest.UDP{Src: 1, Dst: 2})
	want := []byte{0x88, 0xa8, 0xa0, 0x64, 0x81, 0x00, 0x10, 0x0a, 0x08, 0x00}
	if !bytes.Equal(f[12:22], want) {
		t.Fatalf("tags % x, want % x", f[12:22], want)
	}
	if len(f) != 14+8+20+8 {
		t.Fatalf("size %d", len(f))
	}
	l4Valid(t, f[22:])
	p := pkttest.Decode(f)
	var vids []uint16
	for _, l := range p.Layers() {
		if q, ok := l.(*layers.Dot1Q); ok {
			vids = append(vids, q.VLANIdentifier)
		}
	}
	if len(vids) != 2 || vids[0] != 100 || vids[1] != 10 {
		t.Fatalf("decoded VIDs %v", vids)
	}
}

func TestPadding(t *testing.T) {
	if n := len(pkttest.ARPRequest(macA, a4, b4)); n != 60 {
		t.Fatalf("padded ARP size %d", n)
	}
	e := eth
	e.NoPad = true
	f := pkttest.ARPFrame(e, pkttest.ARP{Op: 2, SHA: macA, SPA: a4, THA: macB, TPA: b4})
	if len(f) != 42 {
		t.Fatalf("unpadded ARP size %d", len(f))
	}
	arp := pkttest.Decode(f).Layer(layers.LayerTypeARP).(*layers.ARP)
	if arp.Operation != 2 || !bytes.Equal(arp.DstProtAddress, b4.AsSlice()) {
		t.Fatalf("decoded %+v", arp)
	}
}

func TestFrameAndFragments(t *testing.T) {
	f := pkttest.IPv4Packet(eth, pkttest.IPv4{Src: a4, Dst: b4, MF: true, FragOffset: 3, ID: 9}, 17, make([]byte, 40))
	ip := pkttest.Decode(f).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip.Flags&layers.IPv4MoreFragments == 0 || ip.FragOffset != 3 || ip.Id != 9 || ip.TTL != 64 {
		t.Fatalf("decoded %+v", ip)
	}
	raw := pkttest.Frame(pkttest.Eth{Src: macA, Dst: pkttest.Broadcast, Type: 0x88b5, NoPad: true}, []byte{1, 2, 3})
	if len(raw) != 17 || binary.BigEndian.Uint16(raw[12:]) != 0x88b5 {
		t.Fatalf("raw frame % x", raw)
	}
}

func TestPanicsOnWrongFamily(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("UDP4 with IPv6 addresses did not panic")
		}
	}()
	pkttest.UDP4(eth, pkttest.IPv4{Src: a6, Dst: b6}, pkttest.UDP{})
}
