package pkttest_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

func TestTunnels(t *testing.T) {
	inner := pkttest.ICMP4Echo(pkttest.Eth{Src: macA, Dst: macB, NoPad: true}, ip4, pkttest.ICMPEcho{ID: 1, Seq: 1})
	outer := pkttest.Eth{Src: macB, Dst: macA, NoPad: true}
	tests := []struct {
		name     string
		frame    []byte
		hdrSize  int // bytes from the outer L3 header to the inner frame
		dstPort  uint16
		udpCsum0 bool
	}{
		{"vxlan4", pkttest.VXLAN4(outer, ip4, pkttest.Encap{VNI: 5000}, inner), 20 + 8 + 8, pkttest.PortVXLAN, true},
		{"vxlan4 csum", pkttest.VXLAN4(outer, ip4, pkttest.Encap{VNI: 5000, UDPChecksum: true}, inner), 20 + 8 + 8, pkttest.PortVXLAN, false},
		{"vxlan6", pkttest.VXLAN6(outer, ip6, pkttest.Encap{VNI: 5000}, inner), 40 + 8 + 8, pkttest.PortVXLAN, false},
		{"geneve4", pkttest.Geneve4(outer, ip4, pkttest.Encap{VNI: 5000, Options: make([]byte, 8)}, inner), 20 + 8 + 8 + 8, pkttest.PortGeneve, true},
		{"geneve6", pkttest.Geneve6(outer, ip6, pkttest.Encap{VNI: 5000}, inner), 40 + 8 + 8, pkttest.PortGeneve, false},
		{"gre4 key", pkttest.GRE4(outer, ip4, pkttest.Encap{VNI: 5000, Key: true}, inner), 20 + 8, 0, false},
		{"gre6", pkttest.GRE6(outer, ip6, pkttest.Encap{}, inner), 40 + 4, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l3 := tt.frame[14:]
			if got := l3[tt.hdrSize:]; !bytes.Equal(got, inner) {
				t.Fatalf("inner frame\n% x\nwant\n% x", got, inner)
			}
			if tt.dstPort == 0 {
				gre := pkttest.Decode(tt.frame).Layer(layers.LayerTypeGRE).(*layers.GRE)
				if gre.Protocol != pkttest.TypeTransparentEther || gre.KeyPresent != (tt.name == "gre4 key") || (gre.KeyPresent && gre.Key != 5000) {
					t.Fatalf("GRE %+v", gre)
				}
				return
			}
			ihl := 40
			if l3[0]>>4 == 4 {
				ihl = int(l3[0]&0xf) * 4
			}
			udp := l3[ihl:]
			if binary.BigEndian.Uint16(udp[2:]) != tt.dstPort || binary.BigEndian.Uint16(udp[0:]) != 49152 {
				t.Fatalf("UDP ports % x", udp[:4])
			}
			if csum := binary.BigEndian.Uint16(udp[6:]); (csum == 0) != tt.udpCsum0 {
				t.Fatalf("UDP checksum %#04x, want zero=%v", csum, tt.udpCsum0)
			}
			if !tt.udpCsum0 {
				l4Valid(t, l3)
			}
			vni := binary.BigEndian.Uint32(udp[12:]) >> 8
			if vni != 5000 {
				t.Fatalf("VNI %d", vni)
			}
		})
	}
}

func TestND(t *testing.T) {
	ns := pkttest.NeighborSolicitation(pkttest.Eth{Src: macA, Dst: pkttest.MustMAC("33:33:ff:00:00:02")}, pkttest.IPv6{Src: a6, Dst: b6}, pkttest.ND{Target: b6, LL: macA})
	l4Valid(t, ns[14:])
	p := pkttest.Decode(ns)
	sol, ok := p.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
	if !ok || !bytes.Equal(sol.TargetAddress, b6.AsSlice()) || len(sol.Options) != 1 || !bytes.Equal(sol.Options[0].Data, macA[:]) {
		t.Fatalf("decoded %v", p)
	}
	if hl := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).HopLimit; hl != 255 {
		t.Fatalf("hop limit %d, want 255", hl)
	}
	na := pkttest.NeighborAdvertisement(pkttest.Eth{Src: macB, Dst: macA}, pkttest.IPv6{Src: b6, Dst: a6}, pkttest.ND{Target: b6, LL: macB, Solicited: true, Override: true})
	l4Valid(t, na[14:])
	adv, ok := pkttest.Decode(na).Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	if !ok || adv.Flags != 0x60 || !bytes.Equal(adv.Options[0].Data, macB[:]) {
		t.Fatalf("decoded %+v", adv)
	}
}
