package offload

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// frameSpec describes a test frame; build serialises it with gopacket,
// which computes lengths and checksums independently of this package.
type frameSpec struct {
	vlan    bool
	ipv6    bool
	udp     bool
	ipID    uint16
	seq     uint32
	flags   string // TCP flags: any of "SAFPRUEC"
	payload []byte
}

var (
	testMAC1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	testMAC2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// build serialises s; t may be nil (examples), then errors panic.
func build(t testing.TB, s frameSpec) []byte {
	fatal := func(err error) {
		if t == nil {
			panic(err)
		}
		t.Helper()
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: testMAC1, DstMAC: testMAC2}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	l3type := layers.EthernetTypeIPv4
	if s.ipv6 {
		l3type = layers.EthernetTypeIPv6
	}
	if s.vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 100, Type: l3type})
	} else {
		eth.EthernetType = l3type
	}
	proto := layers.IPProtocolTCP
	if s.udp {
		proto = layers.IPProtocolUDP
	}
	var nl gopacket.NetworkLayer
	if s.ipv6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: s.ipID,
			Flags: layers.IPv4DontFragment, SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4(10, 0, 0, 2)}
		ls, nl = append(ls, ip), ip
	}
	if s.udp {
		udp := &layers.UDP{SrcPort: 4000, DstPort: 5000}
		if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
			fatal(err)
		}
		ls = append(ls, udp)
	} else {
		tcp := &layers.TCP{SrcPort: 4000, DstPort: 5000, Seq: s.seq, Ack: 7, Window: 512, DataOffset: 8,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}}
		for _, f := range s.flags {
			switch f {
			case 'S':
				tcp.SYN = true
			case 'A':
				tcp.ACK = true
			case 'F':
				tcp.FIN = true
			case 'P':
				tcp.PSH = true
			case 'R':
				tcp.RST = true
			case 'U':
				tcp.URG = true
			case 'E':
				tcp.ECE = true
			case 'C':
				tcp.CWR = true
			}
		}
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			fatal(err)
		}
		ls = append(ls, tcp)
	}
	ls = append(ls, gopacket.Payload(s.payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

// refSum is the plain RFC 1071 checksum the fast Sum is checked against.
func refSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
