package offload

import (
	"bytes"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

func FuzzParseVnetHdr(f *testing.F) {
	f.Add([]byte{1, 4, 86, 0, 0xa0, 0x05, 54, 0, 16, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		off, ok := ParseVnetHdr(b)
		if ok != (len(b) >= VnetHdrSize) {
			t.Fatalf("ok = %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		var enc [VnetHdrSize]byte
		if !EncodeVnetHdr(enc[:], off) || !bytes.Equal(enc[:], b[:VnetHdrSize]) {
			t.Fatalf("round trip: % x -> %+v -> % x", b[:VnetHdrSize], off, enc)
		}
	})
}

func FuzzSegment(f *testing.F) {
	seed := func(s frameSpec, gso uint8, mss uint16) {
		frame := build(f, s)
		proto := uint8(ProtoTCP)
		if s.udp {
			proto = ProtoUDP
		}
		h, _ := ParseHeaders(frame, 0, proto)
		csumOff := uint16(16)
		if s.udp {
			csumOff = 6
		}
		f.Add(frame, FlagNeedsCsum, gso, mss, uint16(h.L4), csumOff)
	}
	seed(frameSpec{flags: "PA", payload: payloadOf(3000)}, GSOTCPv4, 1448)
	seed(frameSpec{vlan: true, ipv6: true, flags: "FA", payload: payloadOf(2000)}, GSOTCPv6, 500)
	seed(frameSpec{udp: true, payload: payloadOf(2500)}, GSOUDPL4, 1000)
	seed(frameSpec{flags: "A", payload: payloadOf(10)}, GSONone, 0)
	f.Fuzz(func(t *testing.T, frame []byte, flags, gso uint8, mss, csumStart, csumOffset uint16) {
		off := packet.Offload{Flags: flags, GSOType: gso, GSOSize: mss, CsumStart: csumStart, CsumOffset: csumOffset}
		orig := append([]byte(nil), frame...)
		total, emitted := 0, 0
		n, ok := Segment(frame, off, make([]byte, 512), func(seg []byte) {
			emitted++
			if gso&^GSOECN != GSONone && len(seg) > len(frame) {
				t.Fatalf("segment of %d bytes from a %d-byte frame", len(seg), len(frame))
			}
			total += len(seg)
		})
		if !bytes.Equal(frame, orig) {
			t.Fatal("input modified")
		}
		if !ok {
			if n != 0 || emitted != 0 {
				t.Fatalf("rejected but emitted %d (n=%d)", emitted, n)
			}
			return
		}
		if n != emitted || n == 0 {
			t.Fatalf("n = %d, emitted %d", n, emitted)
		}
		if gso&^GSOECN == GSONone {
			if total != len(frame) {
				t.Fatalf("non-GSO output %d bytes, input %d", total, len(frame))
			}
			return
		}
		proto := uint8(ProtoTCP)
		if gso&^GSOECN == GSOUDPL4 {
			proto = ProtoUDP
		}
		var cs int
		if flags&FlagNeedsCsum != 0 {
			cs = int(csumStart)
		}
		h, hok := ParseHeaders(frame, cs, proto)
		if !hok {
			t.Fatal("segmented a frame ParseHeaders rejects")
		}
		if want := len(frame) - h.Payload + n*h.Payload; total != want {
			t.Fatalf("segments total %d bytes, want %d", total, want)
		}
	})
}
