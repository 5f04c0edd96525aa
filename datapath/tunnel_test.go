package datapath

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// vxlanHeader builds an outer Ethernet/IP/UDP/VXLAN header template with
// gopacket, lengths and checksums left for the datapath to fill.
func vxlanHeader(t testing.TB, v6 bool, vni uint32) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0xaa}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0xbb},
		EthernetType: layers.EthernetTypeIPv4}
	udp := &layers.UDP{DstPort: 4789}
	vx := &layers.VXLAN{ValidIDFlag: true, VNI: vni}
	var l3 gopacket.SerializableLayer
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		l3 = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: net.ParseIP("2001:db8::a"), DstIP: net.ParseIP("2001:db8::b")}
	} else {
		l3 = &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IP{192, 168, 0, 1}, DstIP: net.IP{192, 168, 0, 2}}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, l3, udp, vx); err != nil {
		t.Fatal(err)
	}
	size := 14 + 20 + 8 + 8 // gopacket pads short Ethernet frames to 60 bytes
	if v6 {
		size = 14 + 40 + 8 + 8
	}
	return buf.Bytes()[:size]
}

func TestTunnelPush(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			dp, ports := testDP(t, 2, Options{})
			hdr := vxlanHeader(t, v6, 42)
			push, err := TunnelPush(hdr)
			if err != nil {
				t.Fatal(err)
			}
			inner := udpFrame(1, 2, 3, 4, pkttest.VLAN{VID: 7})
			var k FlowKey
			ExtractFrame(inner, 1, &k)
			m := l2Mask()
			if err := dp.FlowPut(&k, &m, Actions{Output(2), push, Output(2)}); err != nil {
				t.Fatal(err)
			}
			ports[0].Inject(inner)
			got := ports[1].WaitSent(2, 5*time.Second)
			if len(got) != 2 || !bytes.Equal(got[0], inner) {
				t.Fatalf("got %d frames; first unchanged: %v", len(got), len(got) > 0 && bytes.Equal(got[0], inner))
			}
			enc := got[1]
			pkt := gopacket.NewPacket(enc, layers.LayerTypeEthernet, gopacket.Default)
			vx, _ := pkt.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
			udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if vx == nil || udp == nil || vx.VNI != 42 || udp.DstPort != 4789 || udp.SrcPort < tunnelSrcMin {
				t.Fatalf("bad encapsulation: %v", pkt)
			}
			if int(udp.Length) != len(enc)-len(hdr)+udpHdrSize+8 || !bytes.Equal(vx.Payload, inner) {
				t.Fatalf("UDP length %d, frame %d, payload ok %v", udp.Length, len(enc), bytes.Equal(vx.Payload, inner))
			}
			if v6 {
				ip := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if int(ip.Length) != len(enc)-14-40 {
					t.Fatalf("IPv6 payload length %d", ip.Length)
				}
				l4 := enc[14+40:]
				acc := offload.PseudoHeaderSum(enc[22:38], enc[38:54], IPProtoUDP, len(l4))
				if s := offload.Fold(offload.Sum(l4, acc)); s != 0xffff || udp.Checksum == 0 {
					t.Fatalf("bad UDP checksum %#x", udp.Checksum)
				}
			} else {
				ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if int(ip.Length) != len(enc)-14 || offload.Fold(offload.Sum(enc[14:34], 0)) != 0xffff {
					t.Fatalf("IPv4 length %d or checksum %#x wrong", ip.Length, ip.Checksum)
				}
				if udp.Checksum != 0 {
					t.Fatalf("UDP checksum %#x over IPv4", udp.Checksum)
				}
			}
			if s := dp.Stats(); s.ActionDrops != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestTunnelPushRejects(t *testing.T) {
	if _, err := TunnelPush([]byte{1, 2, 3}); !errors.Is(err, errBadTunnelHeader) {
		t.Fatalf("short header: %v", err)
	}
	arp := pkttest.ARPRequest(mac(1), ip4a, ip4b)
	if _, err := TunnelPush(arp[:42]); !errors.Is(err, errBadTunnelHeader) {
		t.Fatalf("ARP header: %v", err)
	}
	// A GSO packet cannot be encapsulated (no UDP tunnel segmentation yet).
	hdr := vxlanHeader(t, false, 1)
	push, _ := TunnelPush(hdr)
	p := packet.FromFrame(udpFrame(1, 2, 3, 4))
	p.Offload = packet.Offload{GSOType: offload.GSOTCPv4, GSOSize: 100}
	x := newExecutor()
	x.ports = &portTable{}
	pkts := []*packet.Packet{p}
	x.run(compile(Actions{push}), pkts)
	if pkts[0] != nil || x.drops != 1 {
		t.Fatal("GSO packet was encapsulated")
	}
	if got := (Actions{push}).String(); got != "tnl_push(header(size=50))" {
		t.Fatalf("String: %s", got)
	}
}

func BenchmarkTunnelPush(b *testing.B) {
	hdr := vxlanHeader(b, false, 1)
	th, _ := parseTunnelHeader(hdr)
	frame := udpFrame(1, 2, 3, 4)
	p := packet.FromFrame(frame)
	buf, _, _ := p.Buffer()
	b.ReportAllocs()
	for b.Loop() {
		p.Reset(buf, packet.Headroom, packet.Headroom+len(frame))
		tunnelPush(p, &th)
	}
}
