package afpacket

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

func TestFinish(t *testing.T) {
	frame := make([]byte, 80)
	for i := range frame {
		frame[i] = byte(i)
	}
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	vnet := make([]byte, offload.VnetHdrSize)
	csum := packet.Offload{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	offload.EncodeVnetHdr(vnet, csum)
	tests := []struct {
		name     string
		vnet     []byte
		status   uint32
		tci      uint16
		tpid     uint16
		wantTag  []byte
		wantOff  packet.Offload
		wantHead int
	}{
		{"plain", nil, 0, 0, 0, nil, packet.Offload{}, packet.Headroom + vlanTagSize},
		{"vnet", vnet, 0, 0, 0, nil, csum, packet.Headroom + vlanTagSize},
		{"vlan-default-tpid", nil, unix.TP_STATUS_VLAN_VALID, 0xa02a, 0, []byte{0x81, 0, 0xa0, 0x2a}, packet.Offload{}, packet.Headroom},
		{"vlan-qinq", nil, unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID, 7, 0x88a8, []byte{0x88, 0xa8, 0, 7}, packet.Offload{}, packet.Headroom},
		{"vlan-vnet-shift", vnet, unix.TP_STATUS_VLAN_VALID, 42, 0, []byte{0x81, 0, 0, 42},
			packet.Offload{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: 70, GSOSize: 1448, CsumStart: 38, CsumOffset: 16},
			packet.Headroom},
	}
	p := &Port{mtu: 1500}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, packet.Headroom+vlanTagSize+len(frame))
			copy(buf[packet.Headroom+vlanTagSize:], frame)
			var pkt packet.Packet
			n, ok := p.finish(&pkt, buf, packet.Headroom, len(frame), tt.vnet, tt.status, tt.tci, tt.tpid)
			if !ok || n != pkt.Len() {
				t.Fatalf("finish = %d, %v; packet len %d", n, ok, pkt.Len())
			}
			want := append([]byte(nil), frame[:12]...)
			want = append(want, tt.wantTag...)
			want = append(want, frame[12:]...)
			if !bytes.Equal(pkt.Data(), want) {
				t.Fatalf("frame\n got % x\nwant % x", pkt.Data()[:20], want[:20])
			}
			if pkt.Offload != tt.wantOff {
				t.Fatalf("offload %+v, want %+v", pkt.Offload, tt.wantOff)
			}
			if pkt.Headroom() != tt.wantHead {
				t.Fatalf("headroom %d, want %d", pkt.Headroom(), tt.wantHead)
			}
		})
	}
	var pkt packet.Packet
	if _, ok := p.finish(&pkt, make([]byte, 200), packet.Headroom, 13, nil, 0, 0, 0); ok {
		t.Fatal("finish accepted a 13-byte frame")
	}
}

func TestAuxdata(t *testing.T) {
	c := make([]byte, cmsgSize)
	ne.PutUint64(c[0:], cmsgHdrSize+auxdataSize)
	ne.PutUint32(c[8:], unix.SOL_PACKET)
	ne.PutUint32(c[12:], unix.PACKET_AUXDATA)
	ne.PutUint32(c[16:], unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_VLAN_TPID_VALID)
	ne.PutUint16(c[32:], 100)
	ne.PutUint16(c[34:], 0x88a8)
	if st, tci, tpid := auxdata(c); st != unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_VLAN_TPID_VALID || tci != 100 || tpid != 0x88a8 {
		t.Fatalf("auxdata = %#x %d %#x", st, tci, tpid)
	}
	if st, _, _ := auxdata(c[:20]); st != 0 {
		t.Fatal("short control message parsed")
	}
	ne.PutUint32(c[12:], 99)
	if st, _, _ := auxdata(c); st != 0 {
		t.Fatal("foreign control message parsed")
	}
}
