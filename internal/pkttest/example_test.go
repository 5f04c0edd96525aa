package pkttest_test

import (
	"fmt"
	"net/netip"

	"github.com/google/gopacket/layers"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// A UDP datagram in VLAN 10, as a trunk port would carry it.
func ExampleUDP4() {
	frame := pkttest.UDP4(
		pkttest.Eth{
			Src:   pkttest.MustMAC("02:00:00:00:00:01"),
			Dst:   pkttest.MustMAC("02:00:00:00:00:02"),
			VLANs: []pkttest.VLAN{{VID: 10}},
			NoPad: true,
		},
		pkttest.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		pkttest.UDP{Src: 5000, Dst: 53, Payload: []byte("hi")},
	)
	p := pkttest.Decode(frame)
	q := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
	udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	fmt.Println(len(frame), q.VLANIdentifier, udp.DstPort, udp.Length)
	// Output: 48 10 53(domain) 10
}
