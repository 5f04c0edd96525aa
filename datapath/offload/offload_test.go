package offload

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 600 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%5 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		if got, want := Fold(Sum(b, 0)), refSum(b); got != want {
			t.Fatalf("len %d: Fold(Sum) = %#04x, reference %#04x", n, got, want)
		}
	}
}

func TestVnetHdrRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		off  packet.Offload
	}{
		{"zero", packet.Offload{}},
		{"csum", packet.Offload{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}},
		{"tso4", packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}},
		{"tso6ecn", packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv6 | GSOECN, HdrLen: 86, GSOSize: 1428, CsumStart: 54, CsumOffset: 16}},
		{"max", packet.Offload{Flags: 0xff, GSOType: 0xff, HdrLen: 0xffff, GSOSize: 0xffff, CsumStart: 0xffff, CsumOffset: 0xffff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b [VnetHdrMrgSize]byte
			for i := range b {
				b[i] = 0xaa
			}
			if !EncodeVnetHdr(b[:], tt.off) {
				t.Fatal("encode failed")
			}
			if b[10] != 0 || b[11] != 0 {
				t.Fatalf("num_buffers not zeroed: % x", b)
			}
			got, ok := ParseVnetHdr(b[:])
			if !ok || got != tt.off {
				t.Fatalf("parse = %+v, %v; want %+v", got, ok, tt.off)
			}
		})
	}
	if _, ok := ParseVnetHdr(make([]byte, 9)); ok {
		t.Fatal("parsed a 9-byte header")
	}
	if EncodeVnetHdr(make([]byte, 9), packet.Offload{}) {
		t.Fatal("encoded into 9 bytes")
	}
}

func TestVnetHdrLayout(t *testing.T) {
	// struct virtio_net_hdr on a little-endian host.
	b := []byte{1, 4, 86, 0, 0xa0, 0x05, 54, 0, 16, 0}
	off, ok := ParseVnetHdr(b)
	want := packet.Offload{Flags: 1, GSOType: 4, HdrLen: 86, GSOSize: 1440, CsumStart: 54, CsumOffset: 16}
	if !ok || off != want {
		t.Fatalf("got %+v, want %+v", off, want)
	}
}

// partial turns a fully checksummed frame into the CHECKSUM_PARTIAL form the
// kernel hands out: the L4 checksum field holds the folded pseudo-header sum.
func partial(t *testing.T, frame []byte, gso uint8, mss uint16) packet.Offload {
	t.Helper()
	proto := uint8(ProtoTCP)
	if gso == GSOUDPL4 {
		proto = ProtoUDP
	}
	h, ok := ParseHeaders(frame, 0, proto)
	if !ok {
		t.Fatal("test frame does not parse")
	}
	csumOff := 16
	if h.Proto == ProtoUDP {
		csumOff = 6
	}
	var src, dst []byte
	if h.IPv6 {
		src, dst = frame[h.L3+8:h.L3+24], frame[h.L3+24:h.L3+40]
	} else {
		src, dst = frame[h.L3+12:h.L3+16], frame[h.L3+16:h.L3+20]
	}
	be.PutUint16(frame[h.L4+csumOff:], Fold(PseudoHeaderSum(src, dst, h.Proto, len(frame)-h.L4)))
	return packet.Offload{Flags: FlagNeedsCsum, GSOType: gso, HdrLen: uint16(h.Payload), GSOSize: mss,
		CsumStart: uint16(h.L4), CsumOffset: uint16(csumOff)}
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		spec frameSpec
	}{
		{"tcp4", frameSpec{flags: "PA", payload: payloadOf(1000)}},
		{"tcp4-odd", frameSpec{flags: "A", payload: payloadOf(333)}},
		{"tcp6-vlan", frameSpec{ipv6: true, vlan: true, flags: "A", payload: payloadOf(1400)}},
		{"udp4", frameSpec{udp: true, payload: payloadOf(99)}},
		{"udp6", frameSpec{udp: true, ipv6: true, payload: payloadOf(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := build(t, tt.spec)
			frame := append([]byte(nil), want...)
			off := partial(t, frame, GSONone, 0)
			if !Checksum(frame, off) {
				t.Fatal("Checksum reported false")
			}
			if !bytes.Equal(frame, want) {
				t.Fatalf("checksum differs:\n got % x\nwant % x", frame[off.CsumStart:off.CsumStart+20], want[off.CsumStart:off.CsumStart+20])
			}
		})
	}
	t.Run("bounds", func(t *testing.T) {
		frame := make([]byte, 60)
		for _, off := range []packet.Offload{
			{Flags: FlagNeedsCsum, CsumStart: 60, CsumOffset: 0},
			{Flags: FlagNeedsCsum, CsumStart: 40, CsumOffset: 19},
			{Flags: FlagNeedsCsum, CsumStart: 0xffff, CsumOffset: 0xffff},
		} {
			if Checksum(frame, off) {
				t.Errorf("Checksum(%+v) accepted a 60-byte frame", off)
			}
		}
		if !Checksum(frame, packet.Offload{}) {
			t.Error("Checksum refused a frame without NEEDS_CSUM")
		}
	})
}

func TestChecksumNoAllocs(t *testing.T) {
	frame := build(t, frameSpec{flags: "A", payload: payloadOf(1400)})
	off := partial(t, frame, GSONone, 0)
	if n := testing.AllocsPerRun(100, func() { Checksum(frame, off) }); n != 0 {
		t.Fatalf("Checksum allocates %v times", n)
	}
}

func TestCaps(t *testing.T) {
	if s := (CapVnetHdr | CapCsum | CapTSO4).String(); s != "vnet_hdr|csum|tso4" {
		t.Errorf("String = %q", s)
	}
	if s := Caps(0).String(); s != "none" {
		t.Errorf("String = %q", s)
	}
	tso4 := packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448}
	tests := []struct {
		name string
		caps Caps
		off  packet.Offload
		want bool
	}{
		{"plain-none", 0, packet.Offload{}, true},
		{"csum-none", 0, packet.Offload{Flags: FlagNeedsCsum}, false},
		{"datavalid-none", 0, packet.Offload{Flags: FlagDataValid}, true},
		{"csum-vnet", CapVnetHdr | CapCsum, packet.Offload{Flags: FlagNeedsCsum}, true},
		{"tso4-all", CapsAll, tso4, true},
		{"tso4-csumonly", CapVnetHdr | CapCsum, tso4, false},
		{"tso6-tso4", CapVnetHdr | CapCsum | CapTSO4, packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv6}, false},
		{"ecn-noecn", CapVnetHdr | CapCsum | CapTSO4, packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4 | GSOECN}, false},
		{"ufo-all", CapsAll, packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOUDP}, true},
		{"ufo-uso", CapVnetHdr | CapCsum | CapUSO, packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOUDP}, false},
		{"unknown", CapsAll, packet.Offload{GSOType: 9}, false},
		{"ecn-bit-alone", 0, packet.Offload{GSOType: GSOECN}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.caps.Accepts(tt.off); got != tt.want {
				t.Fatalf("%v.Accepts(%+v) = %v", tt.caps, tt.off, got)
			}
		})
	}
}

func TestShiftStart(t *testing.T) {
	off := packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, CsumStart: 34, CsumOffset: 16}
	if !ShiftStart(&off, 4) || off.CsumStart != 38 || off.HdrLen != 70 {
		t.Fatalf("ShiftStart(+4) = %+v", off)
	}
	plain := packet.Offload{}
	if !ShiftStart(&plain, 4) || plain != (packet.Offload{}) {
		t.Fatalf("ShiftStart changed a plain offload: %+v", plain)
	}
	big := packet.Offload{Flags: FlagNeedsCsum, CsumStart: 0xfffe}
	if ShiftStart(&big, 4) || big.CsumStart != 0xfffe {
		t.Fatalf("ShiftStart overflowed: %+v", big)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{64, 1500, 65000} {
		frame := make([]byte, n)
		for i := range frame {
			frame[i] = byte(i)
		}
		off := packet.Offload{Flags: FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				Checksum(frame, off)
			}
		})
	}
}

// BenchmarkChecksumReference is the plain 16-bit loop, for comparison.
func BenchmarkChecksumReference(b *testing.B) {
	frame := make([]byte, 1500)
	for i := range frame {
		frame[i] = byte(i)
	}
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		refSum(frame)
	}
}

func TestRefusedError(t *testing.T) {
	err := fmt.Errorf("port x: %w", &RefusedError{Feature: "TUNSETOFFLOAD", Err: syscall.EINVAL})
	var re *RefusedError
	if !errors.As(err, &re) || re.Feature != "TUNSETOFFLOAD" || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("%v does not unwrap", err)
	}
	if got := err.Error(); got != "port x: TUNSETOFFLOAD refused: invalid argument" {
		t.Fatalf("Error() = %q", got)
	}
}
