package datapath

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// TestFlowKeyLayout checks that FlowKey has no padding, so that hashing and
// comparing it as words sees only field bytes.
func TestFlowKeyLayout(t *testing.T) {
	typ := reflect.TypeFor[FlowKey]()
	var sum uintptr
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Offset != sum {
			t.Errorf("field %s at offset %d, want %d (padding before it)", f.Name, f.Offset, sum)
		}
		sum += f.Type.Size()
	}
	if sum != unsafe.Sizeof(FlowKey{}) || sum%8 != 0 || int(sum/8) != flowWords {
		t.Fatalf("fields %d bytes, struct %d bytes, %d words", sum, unsafe.Sizeof(FlowKey{}), flowWords)
	}
	if unsafe.Sizeof(Mask{}) != unsafe.Sizeof(FlowKey{}) {
		t.Fatal("Mask and FlowKey differ in size")
	}
}

func TestMaskedAndHash(t *testing.T) {
	var a, b FlowKey
	ExtractFrame(udpFrame(1, 2, 10, 20), 3, &a)
	ExtractFrame(udpFrame(1, 2, 11, 21), 3, &b)
	if a.Hash() == b.Hash() {
		t.Error("different keys hash alike")
	}
	m := l2Mask()
	if a.Masked(&m) != b.Masked(&m) {
		t.Error("keys differing only in L4 differ under an L2 mask")
	}
	if (&Mask{}).IsZero() != true || m.IsZero() {
		t.Error("IsZero")
	}
	e := ExactMask()
	if a.Masked(&e) != a {
		t.Error("exact mask changed the key")
	}
}

func TestFormatFlow(t *testing.T) {
	now := time.Unix(100, 0)
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 10, 20), 1, &k)
	m := l2Mask()
	normalizeMask(&k, &m)
	e := FlowEntry{Key: k.Masked(&m), Mask: m, Actions: Actions{Output(2)},
		Stats: FlowStats{Packets: 3, Bytes: 294, Used: now.Add(-123 * time.Millisecond)}}
	want := "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)," +
		"eth_type(0x0800),ipv4(frag=no), packets:3, bytes:294, used:0.123s, actions:2"
	if got := FormatFlow(&e, now); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Tagged, partially masked, TCP flags, never-used, VLAN actions.
	ExtractFrame(udpFrame(1, 2, 10, 20), 1, &k)
	k.VLAN[0] = VLANTag{TPID: 0x8100, TCI: 10}
	m = Mask{}
	m.EthDst = [6]byte{0xff, 0xff, 0xff}
	m.IPv4Dst = [4]byte{255, 255, 255, 0}
	m.NwProto, m.TpDst = ExactU8, ExactU16
	normalizeMask(&k, &m)
	e = FlowEntry{Key: k.Masked(&m), Mask: m, Actions: Actions{PopVLAN(), Output(3), PushVLAN(0x88a8, 5), Output(4)},
		Stats: FlowStats{TCPFlags: TCPSyn | TCPAck}}
	want = "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(dst=02:00:00:00:00:00/ff:ff:ff:00:00:00)," +
		"eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800),ipv4(dst=10.0.0.0/255.255.255.0,proto=17,frag=no),udp(dst=20))" +
		", packets:0, bytes:0, used:never, flags:S., actions:pop_vlan,3,push_vlan(tpid=0x88a8,vid=5,pcp=0),4"
	if got := FormatFlow(&e, now); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestShow(t *testing.T) {
	dp, _ := testDP(t, 2, Options{})
	var b strings.Builder
	if err := dp.WriteShow(&b); err != nil {
		t.Fatal(err)
	}
	want := "netdev@ovs-netdev:\n  lookups: hit:0 missed:0 lost:0\n  flows: 0\n  port 1: p1 (dummy)\n  port 2: p2 (dummy)\n"
	if b.String() != want {
		t.Errorf("got %q", b.String())
	}
	if h := dp.DpifShowHeader(); h != "netdev@ovs-netdev: hit:0 missed:0" {
		t.Errorf("header %q", h)
	}
}

// TestFlowLayout checks that a flow is two cache lines, lookup fields in
// the first and counters in the second.
func TestFlowLayout(t *testing.T) {
	var f flow
	if unsafe.Sizeof(f) != 128 {
		t.Errorf("flow is %d bytes, want 128", unsafe.Sizeof(f))
	}
	if end := unsafe.Offsetof(f.prog) + unsafe.Sizeof(f.prog); end > 64 {
		t.Errorf("lookup fields end at byte %d", end)
	}
	if off := unsafe.Offsetof(f.packets); off != 64 {
		t.Errorf("counters start at byte %d", off)
	}
}

func TestFormatTCPFlags(t *testing.T) {
	for _, tt := range []struct {
		v, m uint16
		want string
	}{
		{TCPSyn | TCPAck, 0x0fff, "syn|ack"},
		{0, 0x0fff, "0"},
		{TCPSyn, TCPSyn | TCPAck, "+syn-ack"},
	} {
		if got := formatTCPFlagsMasked(tt.v, tt.m); got != tt.want {
			t.Errorf("%#x/%#x: got %q want %q", tt.v, tt.m, got, tt.want)
		}
	}
	if got := FormatTCPFlags(TCPSyn | TCPFin | TCPAck); got != "SF." {
		t.Errorf("FormatTCPFlags: %q", got)
	}
}

func TestFormatKeyL3(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame []byte
		mask  func(m *Mask)
		want  string
	}{
		{"arp", pkttest.ARPRequest(mac(1), ip4a, ip4b), func(m *Mask) {
			m.ARPSpa, m.ARPTpa, m.ARPOp, m.ARPSha = ExactIPv4, ExactIPv4, ExactU16, ExactMAC
		}, "eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=02:00:00:00:00:01)"},
		{"ipv6 udp", pkttest.UDP6(eth(), pkttest.IPv6{Src: ip6a, Dst: ip6b}, pkttest.UDP{Src: 1, Dst: 2}), func(m *Mask) {
			m.IPv6Dst, m.NwProto, m.TpSrc = ExactIPv6, ExactU8, ExactU16
		}, "eth_type(0x86dd),ipv6(dst=2001:db8::2,proto=17,frag=no),udp(src=1)"},
		{"icmp", pkttest.ICMP4Echo(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b, TTL: 9}, pkttest.ICMPEcho{ID: 1}), func(m *Mask) {
			m.NwProto, m.NwTTL, m.ICMPType, m.ICMPCode = ExactU8, ExactU8, ExactU8, ExactU8
		}, "eth_type(0x0800),ipv4(proto=1,ttl=9,frag=no),icmp(type=8,code=0)"},
		{"tcp flags", pkttest.TCP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b}, pkttest.TCP{Src: 1, Dst: 80, Flags: pkttest.SYN}), func(m *Mask) {
			m.NwProto, m.TpDst, m.TCPFlags = ExactU8, ExactU16, 0x0fff
		}, "eth_type(0x0800),ipv4(proto=6,frag=no),tcp(dst=80),tcp_flags(syn)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var k FlowKey
			ExtractFrame(tt.frame, 1, &k)
			var m Mask
			tt.mask(&m)
			normalizeMask(&k, &m)
			mk := k.Masked(&m)
			var b strings.Builder
			FormatKey(&b, &mk, &m)
			want := "recirc_id(0),in_port(1),packet_type(ns=0,id=0)," + tt.want
			if b.String() != want {
				t.Errorf("got  %s\nwant %s", b.String(), want)
			}
		})
	}
}

func TestDumpFlows(t *testing.T) {
	clk := newFakeClock()
	dp, _ := testDP(t, 2, Options{Now: clk.Now})
	var k FlowKey
	ExtractFrame(udpFrame(1, 2, 3, 4), 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := dp.DumpFlows(&b); err != nil {
		t.Fatal(err)
	}
	want := "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)," +
		"eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2\n"
	if b.String() != want || dp.Name() != "ovs-netdev" {
		t.Errorf("got %q", b.String())
	}
}
