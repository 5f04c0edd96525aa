package offload

import (
	"bytes"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

func TestSegment(t *testing.T) {
	tests := []struct {
		name  string
		spec  frameSpec
		gso   uint8
		mss   int
		nsegs int
	}{
		{"tcp4", frameSpec{ipID: 0xfffe, seq: 0xffffff00, flags: "FPAC", payload: payloadOf(5000)}, GSOTCPv4, 1448, 4},
		{"tcp4-exact", frameSpec{ipID: 1, seq: 1, flags: "PA", payload: payloadOf(2896)}, GSOTCPv4, 1448, 2},
		{"tcp4-ecn", frameSpec{ipID: 9, seq: 5, flags: "AEC", payload: payloadOf(3000)}, GSOTCPv4 | GSOECN, 1000, 3},
		{"tcp4-vlan", frameSpec{vlan: true, ipID: 7, seq: 100, flags: "A", payload: payloadOf(4000)}, GSOTCPv4, 1400, 3},
		{"tcp6", frameSpec{ipv6: true, seq: 77, flags: "PA", payload: payloadOf(9000)}, GSOTCPv6, 1428, 7},
		{"tcp6-vlan-one", frameSpec{ipv6: true, vlan: true, seq: 77, flags: "PA", payload: payloadOf(100)}, GSOTCPv6, 1428, 1},
		{"udp4", frameSpec{udp: true, payload: payloadOf(3500)}, GSOUDPL4, 1200, 3},
		{"udp6", frameSpec{udp: true, ipv6: true, payload: payloadOf(2400)}, GSOUDPL4, 1200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := build(t, tt.spec)
			off := partial(t, frame, tt.gso, uint16(tt.mss))
			orig := append([]byte(nil), frame...)
			var got [][]byte
			n, ok := Segment(frame, off, make([]byte, 64*1024), func(seg []byte) {
				got = append(got, append([]byte(nil), seg...))
			})
			if !ok || n != tt.nsegs || len(got) != n {
				t.Fatalf("Segment = %d, %v (%d emitted), want %d segments", n, ok, len(got), tt.nsegs)
			}
			if !bytes.Equal(frame, orig) {
				t.Fatal("Segment modified its input")
			}
			for i, seg := range got {
				lo := i * tt.mss
				hi := min(lo+tt.mss, len(tt.spec.payload))
				s := tt.spec
				s.payload = tt.spec.payload[lo:hi]
				s.ipID = tt.spec.ipID + uint16(i)
				s.seq = tt.spec.seq + uint32(lo)
				s.flags = segFlags(tt.spec.flags, i == 0, i == len(got)-1)
				want := build(t, s)
				if !bytes.Equal(seg, want) {
					t.Fatalf("segment %d differs:\n got % x\nwant % x", i, seg, want)
				}
			}
		})
	}
}

// segFlags is what TSO leaves of the TCP flags on one segment.
func segFlags(f string, first, last bool) string {
	var out []rune
	for _, c := range f {
		if (c == 'F' || c == 'P') && !last || c == 'C' && !first {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

func TestSegmentNoGSO(t *testing.T) {
	want := build(t, frameSpec{flags: "PA", payload: payloadOf(700)})
	frame := append([]byte(nil), want...)
	off := partial(t, frame, GSONone, 0)
	var got []byte
	n, ok := Segment(frame, off, nil, func(seg []byte) { got = append(got, seg...) })
	if !ok || n != 1 || !bytes.Equal(got, want) {
		t.Fatalf("Segment = %d, %v; frame equal %v", n, ok, bytes.Equal(got, want))
	}
}

func TestSegmentRejects(t *testing.T) {
	tcp4 := build(t, frameSpec{flags: "A", payload: payloadOf(3000)})
	udp4 := build(t, frameSpec{udp: true, payload: payloadOf(3000)})
	tcp6 := build(t, frameSpec{ipv6: true, flags: "A", payload: payloadOf(3000)})
	tests := []struct {
		name  string
		frame []byte
		off   packet.Offload
	}{
		{"zero-mss", tcp4, packet.Offload{GSOType: GSOTCPv4}},
		{"ufo", udp4, packet.Offload{GSOType: GSOUDP, GSOSize: 1000}},
		{"tso4-on-udp", udp4, packet.Offload{GSOType: GSOTCPv4, GSOSize: 1000}},
		{"tso6-on-v4", tcp4, packet.Offload{GSOType: GSOTCPv6, GSOSize: 1000}},
		{"tso4-on-v6", tcp6, packet.Offload{GSOType: GSOTCPv4, GSOSize: 1000}},
		{"unknown-gso", tcp4, packet.Offload{GSOType: 9, GSOSize: 1000}},
		{"truncated", tcp4[:40], packet.Offload{GSOType: GSOTCPv4, GSOSize: 1000}},
		{"empty", nil, packet.Offload{GSOType: GSOTCPv4, GSOSize: 1000}},
		{"csum-out-of-range", tcp4[:100], packet.Offload{Flags: FlagNeedsCsum, CsumStart: 99, CsumOffset: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			if n, ok := Segment(tt.frame, tt.off, nil, func([]byte) { called = true }); ok || n != 0 || called {
				t.Fatalf("Segment = %d, %v, emitted %v; want rejection", n, ok, called)
			}
		})
	}
}

func TestSegmentNoAllocs(t *testing.T) {
	frame := build(t, frameSpec{flags: "PA", payload: payloadOf(60000)})
	off := partial(t, frame, GSOTCPv4, 1448)
	scratch := make([]byte, 2048)
	out := func([]byte) {}
	if n := testing.AllocsPerRun(20, func() { Segment(frame, off, scratch, out) }); n != 0 {
		t.Fatalf("Segment allocates %v times", n)
	}
}

func BenchmarkSegment(b *testing.B) {
	frame := build(b, frameSpec{flags: "PA", payload: payloadOf(64000)})
	h, _ := ParseHeaders(frame, 0, ProtoTCP)
	off := packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448, CsumStart: uint16(h.L4), CsumOffset: 16}
	scratch := make([]byte, 2048)
	out := func([]byte) {}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		Segment(frame, off, scratch, out)
	}
}
