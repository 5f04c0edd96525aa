package datapath

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

var (
	ip4a = netip.MustParseAddr("10.0.0.1")
	ip4b = netip.MustParseAddr("10.0.0.2")
	ip6a = netip.MustParseAddr("2001:db8::1")
	ip6b = netip.MustParseAddr("2001:db8::2")
)

func eth(vlans ...pkttest.VLAN) pkttest.Eth {
	return pkttest.Eth{Src: mac(1), Dst: mac(2), VLANs: vlans}
}

// baseKey is the key of a frame from mac(1) to mac(2) on port 7.
func baseKey(et uint16) FlowKey {
	return FlowKey{InPort: 7, EthSrc: mac(1), EthDst: mac(2), EthType: et}
}

func extractCases() []struct {
	name  string
	frame []byte
	want  FlowKey
} {
	type tc = struct {
		name  string
		frame []byte
		want  FlowKey
	}
	var cases []tc
	add := func(name string, f []byte, edit func(k *FlowKey), et uint16) {
		k := baseKey(et)
		edit(&k)
		cases = append(cases, tc{name, f, k})
	}
	v4 := func(k *FlowKey, proto uint8) {
		k.IPv4Src, k.IPv4Dst = ip4a.As4(), ip4b.As4()
		k.NwProto, k.NwTTL = proto, 64
	}
	v6 := func(k *FlowKey, proto uint8) {
		k.IPv6Src, k.IPv6Dst = ip6a.As16(), ip6b.As16()
		k.NwProto, k.NwTTL = proto, 64
	}
	add("udp4", pkttest.UDP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b, TOS: 0x2e << 2},
		pkttest.UDP{Src: 1234, Dst: 53}), func(k *FlowKey) {
		v4(k, IPProtoUDP)
		k.NwTOS, k.TpSrc, k.TpDst = 0x2e<<2, 1234, 53
	}, EthTypeIPv4)
	add("tcp4 syn", pkttest.TCP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b, TTL: 9},
		pkttest.TCP{Src: 40000, Dst: 80, Flags: pkttest.SYN}), func(k *FlowKey) {
		v4(k, IPProtoTCP)
		k.NwTTL, k.TpSrc, k.TpDst, k.TCPFlags = 9, 40000, 80, TCPSyn
	}, EthTypeIPv4)
	add("icmp4", pkttest.ICMP4Echo(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b},
		pkttest.ICMPEcho{ID: 1, Seq: 2}), func(k *FlowKey) {
		v4(k, IPProtoICMP)
		k.ICMPType = 8
	}, EthTypeIPv4)
	add("ipv4 first fragment", pkttest.UDP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b, MF: true},
		pkttest.UDP{Src: 1, Dst: 2}), func(k *FlowKey) {
		v4(k, IPProtoUDP)
		k.NwFrag, k.TpSrc, k.TpDst = FragAny, 1, 2
	}, EthTypeIPv4)
	add("ipv4 later fragment", pkttest.UDP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b, FragOffset: 100},
		pkttest.UDP{Src: 1, Dst: 2}), func(k *FlowKey) {
		v4(k, IPProtoUDP)
		k.NwFrag = FragAny | FragLater
	}, EthTypeIPv4)
	add("udp6", pkttest.UDP6(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b, FlowLabel: 0x12345, TrafficClass: 0x10},
		pkttest.UDP{Src: 546, Dst: 547}), func(k *FlowKey) {
		v6(k, IPProtoUDP)
		k.IPv6Label, k.NwTOS, k.TpSrc, k.TpDst = 0x12345, 0x10, 546, 547
	}, EthTypeIPv6)
	add("tcp6", pkttest.TCP6(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b},
		pkttest.TCP{Src: 1, Dst: 22, Flags: pkttest.ACK | pkttest.PSH}), func(k *FlowKey) {
		v6(k, IPProtoTCP)
		k.TpSrc, k.TpDst, k.TCPFlags = 1, 22, TCPAck|TCPPsh
	}, EthTypeIPv6)
	add("icmp6", pkttest.ICMP6Echo(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b},
		pkttest.ICMPEcho{ID: 1, Seq: 1, Reply: true}), func(k *FlowKey) {
		v6(k, IPProtoICMPv6)
		k.ICMPType = 129
	}, EthTypeIPv6)
	add("arp request", pkttest.ARPFrame(eth(), pkttest.ARP{Op: 1, SHA: mac(1), SPA: ip4a, TPA: ip4b}),
		func(k *FlowKey) {
			k.ARPOp, k.ARPSha, k.ARPSpa, k.ARPTpa = 1, mac(1), ip4a.As4(), ip4b.As4()
		}, EthTypeARP)
	add("vlan udp4", pkttest.UDP4(eth(pkttest.VLAN{VID: 10, PCP: 5}), pkttest.IPv4{Src: ip4a, Dst: ip4b},
		pkttest.UDP{Src: 1, Dst: 2}), func(k *FlowKey) {
		v4(k, IPProtoUDP)
		k.VLAN[0] = VLANTag{TPID: 0x8100, TCI: 5<<13 | 10}
		k.TpSrc, k.TpDst = 1, 2
	}, EthTypeIPv4)
	add("qinq udp4", pkttest.UDP4(eth(pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10}),
		pkttest.IPv4{Src: ip4a, Dst: ip4b}, pkttest.UDP{Src: 1, Dst: 2}), func(k *FlowKey) {
		v4(k, IPProtoUDP)
		k.VLAN = [2]VLANTag{{TPID: 0x88a8, TCI: 100}, {TPID: 0x8100, TCI: 10}}
		k.TpSrc, k.TpDst = 1, 2
	}, EthTypeIPv4)
	add("three tags", pkttest.Frame(pkttest.Eth{Src: mac(1), Dst: mac(2), Type: 0x0800,
		VLANs: []pkttest.VLAN{{TPID: 0x88a8, VID: 1}, {VID: 2}, {VID: 3}}}, make([]byte, 30)),
		func(k *FlowKey) {
			k.VLAN = [2]VLANTag{{TPID: 0x88a8, TCI: 1}, {TPID: 0x8100, TCI: 2}}
		}, 0x8100)
	add("802.3 llc", pkttest.Frame(pkttest.Eth{Src: mac(1), Dst: mac(2), Type: 46}, make([]byte, 46)),
		func(k *FlowKey) {}, ethTypeNone)
	add("truncated ipv4", pkttest.UDP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b},
		pkttest.UDP{Src: 1, Dst: 2})[:14+10], func(k *FlowKey) {}, EthTypeIPv4)
	cases = append(cases, tc{"runt", []byte{1, 2, 3}, FlowKey{InPort: 7}})
	return cases
}

func TestExtract(t *testing.T) {
	for _, tt := range extractCases() {
		t.Run(tt.name, func(t *testing.T) {
			var k FlowKey
			ExtractFrame(tt.frame, 7, &k)
			if k != tt.want {
				t.Errorf("got  %+v\nwant %+v", k, tt.want)
			}
		})
	}
}

func TestExtractAllocs(t *testing.T) {
	f := udpFrame(1, 2, 3, 4)
	var k FlowKey
	if n := testing.AllocsPerRun(100, func() { ExtractFrame(f, 1, &k) }); n != 0 {
		t.Fatalf("%v allocs per extraction", n)
	}
}

func FuzzExtract(f *testing.F) {
	for _, tt := range extractCases() {
		f.Add(tt.frame)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var k FlowKey
		ExtractFrame(b, 1, &k)
		if k.InPort != 1 {
			t.Fatal("in_port lost")
		}
	})
}

// benchFrames are the frames both extractors parse.
func benchFrames() [][]byte {
	return [][]byte{
		udpFrame(1, 2, 1000, 2000),
		pkttest.TCP4(eth(pkttest.VLAN{VID: 10}), pkttest.IPv4{Src: ip4a, Dst: ip4b},
			pkttest.TCP{Src: 1, Dst: 80, Flags: pkttest.ACK}),
		pkttest.UDP6(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b}, pkttest.UDP{Src: 1, Dst: 2}),
	}
}

func BenchmarkExtract(b *testing.B) {
	frames := benchFrames()
	var k FlowKey
	b.ReportAllocs()
	b.SetBytes(int64(len(frames[0])))
	for i := 0; b.Loop(); i++ {
		ExtractFrame(frames[i%len(frames)], 1, &k)
	}
}

// BenchmarkExtractGopacket decodes the same frames with gopacket's
// DecodingLayerParser (its fastest, preallocated mode) for comparison.
func BenchmarkExtractGopacket(b *testing.B) {
	frames := benchFrames()
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(frames[0])))
	for i := 0; b.Loop(); i++ {
		_ = parser.DecodeLayers(frames[i%len(frames)], &decoded)
	}
}

// FuzzExtractBuilt builds valid frames from fuzzed header values with
// pkttest (gopacket's serializers) and checks that Extract reads those
// values back: a differential test against an independent encoder.
func FuzzExtractBuilt(f *testing.F) {
	f.Add(uint16(1), uint16(2), uint16(10), uint8(0), uint8(0), uint8(64), uint8(0), uint32(0x0a000001))
	f.Add(uint16(53), uint16(4000), uint16(4095), uint8(7), uint8(1), uint8(1), uint8(0xb8), uint32(0xc0a80101))
	f.Add(uint16(0), uint16(0), uint16(0), uint8(0x1d), uint8(2), uint8(255), uint8(3), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, sport, dport, vid uint16, flags, kind, ttl, tos uint8, addr uint32) {
		src := [6]byte{2, byte(addr), byte(addr >> 8), byte(addr >> 16), byte(addr >> 24), 1}
		dst := [6]byte{0xff, 0, 0, 0, byte(sport), byte(dport)}
		var tags []pkttest.VLAN
		if flags&1 != 0 {
			tags = append(tags, pkttest.VLAN{TPID: 0x88a8, VID: vid & 0xfff, PCP: flags >> 5})
		}
		if flags&2 != 0 {
			tags = append(tags, pkttest.VLAN{VID: (vid + 1) & 0xfff})
		}
		e := pkttest.Eth{Src: src, Dst: dst, VLANs: tags}
		a4 := netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)})
		b4 := netip.AddrFrom4([4]byte{10, 9, byte(sport), byte(dport)})
		a6 := netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(addr)})
		b6 := netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 14: byte(vid), 15: 2})
		if ttl == 0 {
			ttl = 1 // pkttest treats 0 as "default 64"
		}
		want := FlowKey{InPort: 3, EthSrc: src, EthDst: dst, NwTTL: ttl, NwTOS: tos}
		for i, tg := range tags {
			tpid := tg.TPID
			if tpid == 0 {
				tpid = 0x8100
			}
			want.VLAN[i] = VLANTag{TPID: tpid, TCI: uint16(tg.PCP)<<13 | tg.VID}
		}
		var frame []byte
		switch kind % 4 {
		case 0:
			frame = pkttest.UDP4(e, pkttest.IPv4{Src: a4, Dst: b4, TTL: ttl, TOS: tos}, pkttest.UDP{Src: sport, Dst: dport})
			want.EthType, want.NwProto, want.TpSrc, want.TpDst = EthTypeIPv4, IPProtoUDP, sport, dport
			want.IPv4Src, want.IPv4Dst = a4.As4(), b4.As4()
		case 1:
			frame = pkttest.TCP4(e, pkttest.IPv4{Src: a4, Dst: b4, TTL: ttl, TOS: tos},
				pkttest.TCP{Src: sport, Dst: dport, Flags: pkttest.TCPFlags(flags)})
			want.EthType, want.NwProto, want.TpSrc, want.TpDst = EthTypeIPv4, IPProtoTCP, sport, dport
			want.IPv4Src, want.IPv4Dst, want.TCPFlags = a4.As4(), b4.As4(), uint16(flags)
		case 2:
			frame = pkttest.UDP6(e, pkttest.IPv6{Src: a6, Dst: b6, HopLimit: ttl, TrafficClass: tos,
				FlowLabel: addr & 0xfffff}, pkttest.UDP{Src: sport, Dst: dport})
			want.EthType, want.NwProto, want.TpSrc, want.TpDst = EthTypeIPv6, IPProtoUDP, sport, dport
			want.IPv6Src, want.IPv6Dst, want.IPv6Label = a6.As16(), b6.As16(), addr&0xfffff
		case 3:
			frame = pkttest.ARPFrame(e, pkttest.ARP{Op: 2, SHA: src, SPA: a4, THA: dst, TPA: b4})
			want.EthType, want.ARPOp, want.ARPSha, want.ARPTha = EthTypeARP, 2, src, dst
			want.ARPSpa, want.ARPTpa = a4.As4(), b4.As4()
			want.NwTTL, want.NwTOS = 0, 0
		}
		var k FlowKey
		ExtractFrame(frame, 3, &k)
		if k != want {
			t.Fatalf("frame %x\ngot  %+v\nwant %+v", frame, k, want)
		}
	})
}

// ipv6ExtFrame builds an IPv6 frame whose UDP header follows a hop-by-hop
// options header and a fragment header at offset fragOffset (8-byte units).
// gopacket cannot serialise fragment headers, so that one is built here.
func ipv6ExtFrame(t *testing.T, fragOffset uint16) []byte {
	t.Helper()
	src, dst := mac(1), mac(2)
	eth := &layers.Ethernet{SrcMAC: src[:], DstMAC: dst[:], EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6HopByHop,
		SrcIP: ip6a.AsSlice(), DstIP: ip6b.AsSlice()}
	hbh := &layers.IPv6HopByHop{}
	hbh.NextHeader = layers.IPProtocolIPv6Fragment
	hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}
	udpBuf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(udpBuf, gopacket.SerializeOptions{FixLengths: true},
		&layers.UDP{SrcPort: 5, DstPort: 6}, gopacket.Payload(make([]byte, 16))); err != nil {
		t.Fatal(err)
	}
	frag := make([]byte, 8)
	frag[0] = byte(layers.IPProtocolUDP)
	binary.BigEndian.PutUint16(frag[2:], fragOffset<<3|1) // offset, M flag
	binary.BigEndian.PutUint32(frag[4:], 7)               // identification
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		eth, ip, hbh, gopacket.Payload(append(frag, udpBuf.Bytes()...))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractIPv6ExtensionHeaders(t *testing.T) {
	for _, tt := range []struct {
		name   string
		off    uint16
		frag   uint8
		sp, dp uint16
	}{
		{"first fragment", 0, FragAny, 5, 6},
		{"later fragment", 100, FragAny | FragLater, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var k FlowKey
			ExtractFrame(ipv6ExtFrame(t, tt.off), 1, &k)
			if k.NwProto != IPProtoUDP || k.NwFrag != tt.frag || k.TpSrc != tt.sp || k.TpDst != tt.dp ||
				k.IPv6Src != ip6a.As16() || k.NwTTL != 64 {
				t.Fatalf("key %+v", k)
			}
		})
	}
}
