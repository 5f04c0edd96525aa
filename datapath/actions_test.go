package datapath

import (
	"bytes"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// TestActionsTable runs action lists through the full pipeline (a flow
// installed with FlowPut, a frame injected on port 1) and checks what each
// port sends.
func TestActionsTable(t *testing.T) {
	plain := udpFrame(1, 2, 1, 1)
	v10 := udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 10})
	v10p5 := udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 10, PCP: 5})
	v20 := udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 20})
	s100v10 := udpFrame(1, 2, 1, 1, pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10})
	for _, tt := range []struct {
		name  string
		in    []byte
		acts  Actions
		want  map[int][][]byte // port index (0-based) -> frames
		drops uint64
	}{
		{"output", plain, Actions{Output(2)}, map[int][][]byte{1: {plain}}, 0},
		{"flood", plain, Actions{Output(2), Output(3), Output(4)},
			map[int][][]byte{1: {plain}, 2: {plain}, 3: {plain}}, 0},
		{"drop", plain, nil, nil, 0},
		{"explicit drop stops", plain, Actions{Drop(), Output(2)}, nil, 0},
		{"push", plain, Actions{PushVLAN(0x8100, 10), Output(2)}, map[int][][]byte{1: {v10}}, 0},
		{"push default tpid", plain, Actions{PushVLAN(0, 10), Output(2)}, map[int][][]byte{1: {v10}}, 0},
		{"pop", v10, Actions{PopVLAN(), Output(2)}, map[int][][]byte{1: {plain}}, 0},
		{"pop untagged is a no-op", plain, Actions{PopVLAN(), Output(2)}, map[int][][]byte{1: {plain}}, 0},
		{"set vid keeps pcp", v10p5, Actions{SetVLAN(20, 0x0fff), Output(2)},
			map[int][][]byte{1: {udpFrame(1, 2, 1, 1, pkttest.VLAN{VID: 20, PCP: 5})}}, 0},
		{"set whole tci", v10p5, Actions{SetVLAN(20, 0), Output(2)}, map[int][][]byte{1: {v20}}, 0},
		{"qinq push", v10, Actions{PushVLAN(0x88a8, 100), Output(2)}, map[int][][]byte{1: {s100v10}}, 0},
		{"per-output edits", v10, Actions{Output(2), PopVLAN(), Output(3), PushVLAN(0x8100, 20), Output(4)},
			map[int][][]byte{1: {v10}, 2: {plain}, 3: {v20}}, 0},
		{"missing port", plain, Actions{Output(9), Output(2)}, map[int][][]byte{1: {plain}}, 1},
		{"unknown kind drops", plain, Actions{{Kind: ActSetField}, Output(2)}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dp, ports := testDP(t, 4, Options{})
			var k FlowKey
			ExtractFrame(tt.in, 1, &k)
			m := l2Mask()
			if err := dp.FlowPut(&k, &m, tt.acts); err != nil {
				t.Fatal(err)
			}
			ports[0].Inject(tt.in)
			waitStats(t, dp, "hit", func(s Stats) bool { return s.Hit == 1 })
			for pi, p := range ports {
				want := tt.want[pi]
				got := p.Sent()
				if len(want) > 0 {
					got = p.WaitSent(len(want), 5*time.Second)
				}
				if len(got) != len(want) {
					t.Fatalf("port %d: got %d frames, want %d", pi+1, len(got), len(want))
				}
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						t.Errorf("port %d frame %d:\ngot  %x\nwant %x", pi+1, i, got[i], want[i])
					}
				}
			}
			if d := dp.Stats().ActionDrops; d != tt.drops {
				t.Errorf("action drops %d, want %d", d, tt.drops)
			}
		})
	}
}

func TestVLANKeepsOffloadOffsets(t *testing.T) {
	p := packet.FromFrame(udpFrame(1, 2, 1, 1))
	p.Offload = packet.Offload{Flags: 1, CsumStart: 34, CsumOffset: 6, GSOType: 3, HdrLen: 42, GSOSize: 1400}
	x := newExecutor()
	x.ports = &portTable{}
	x.run(compile(Actions{PushVLAN(0x8100, 10)}), []*packet.Packet{p})
	if p.Offload.CsumStart != 38 || p.Offload.HdrLen != 46 {
		t.Fatalf("after push: %+v", p.Offload)
	}
	x.run(compile(Actions{PopVLAN()}), []*packet.Packet{p})
	if p.Offload.CsumStart != 34 || p.Offload.HdrLen != 42 {
		t.Fatalf("after pop: %+v", p.Offload)
	}
}

func TestProgramCache(t *testing.T) {
	var c programCache
	a := c.get(Actions{Output(1), PushVLAN(0x8100, 5), Output(2)})
	b := c.get(Actions{Output(1), PushVLAN(0x8100, 5), Output(2)})
	if a != b {
		t.Fatal("equal action lists not shared")
	}
	if c.get(Actions{Output(1)}) == a {
		t.Fatal("different action lists shared")
	}
	if !a.mustCopy(0) || a.mustCopy(2) {
		t.Fatalf("copy bits %b", a.copyOut)
	}
	if got := (Actions{Output(1), PushVLAN(0x88a8, 5), PopVLAN(), SetVLAN(7, 0x0fff)}).String(); got != "1,push_vlan(tpid=0x88a8,vid=5,pcp=0),pop_vlan,set(vlan(tci=0x0007/0x0fff))" {
		t.Fatalf("String: %s", got)
	}
}

// TestSoftwareOffloadFallback sends a TSO frame and a checksum-partial frame
// to a port without offloads (dummy): the first comes out as MSS-sized
// segments, the second with its checksum finished; both with valid TCP
// checksums.
func TestSoftwareOffloadFallback(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	payload := bytes.Repeat([]byte("gvswitch"), 375) // 3000 bytes
	frame := pkttest.TCP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b},
		pkttest.TCP{Src: 1, Dst: 2, Seq: 100, Flags: pkttest.ACK | pkttest.PSH, Payload: payload})
	const hdrs = 14 + 20 + 20
	gso := packet.FromFrame(frame)
	gso.Offload = packet.Offload{Flags: offload.FlagNeedsCsum, GSOType: offload.GSOTCPv4,
		HdrLen: hdrs, GSOSize: 1000, CsumStart: 34, CsumOffset: 16}
	if err := dp.Execute(gso, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	got := ports[1].WaitSent(3, 5*time.Second)
	if len(got) != 3 {
		t.Fatalf("got %d segments", len(got))
	}
	for i, seg := range got {
		if len(seg) != hdrs+1000 {
			t.Errorf("segment %d is %d bytes", i, len(seg))
		}
		checkTCPv4Sum(t, seg)
	}

	small := pkttest.TCP4(eth(), pkttest.IPv4{Src: ip4a, Dst: ip4b}, pkttest.TCP{Src: 1, Dst: 2, Payload: []byte("hi")})
	partial := packet.FromFrame(small)
	d := partial.Data()
	d[hdrs-20+16], d[hdrs-20+17] = 0x12, 0x34 // garbage where the checksum goes
	// The kernel leaves the pseudo-header sum in the field; emulate that.
	ipLen := int(d[16])<<8 | int(d[17]) // the frame is padded to 60 bytes
	ps := offload.PseudoHeaderSum(d[26:30], d[30:34], 6, ipLen-20)
	fold := offload.Fold(ps)
	d[50], d[51] = byte(fold>>8), byte(fold)
	partial.Offload = packet.Offload{Flags: offload.FlagNeedsCsum, CsumStart: 34, CsumOffset: 16}
	ports[1].TakeSent()
	if err := dp.Execute(partial, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	got = ports[1].WaitSent(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d frames", len(got))
	}
	checkTCPv4Sum(t, got[0])
}

// checkTCPv4Sum verifies the TCP checksum of an untagged IPv4 frame with a
// 20-byte IP header.
func checkTCPv4Sum(t *testing.T, f []byte) {
	t.Helper()
	ipLen := int(f[16])<<8 | int(f[17])
	l4 := f[34 : 14+ipLen]
	acc := offload.PseudoHeaderSum(f[26:30], f[30:34], 6, len(l4))
	if s := offload.Fold(offload.Sum(l4, acc)); s != 0xffff {
		t.Errorf("bad TCP checksum (sum %#x)", s)
	}
}

// FuzzExecute runs arbitrary frames and action lists through the pipeline
// (extraction, classifier, executor, software offload fallback): nothing
// may panic.
func FuzzExecute(f *testing.F) {
	f.Add(udpFrame(1, 2, 3, 4), []byte{1, 2, 3, 4, 5}, uint8(0))
	f.Add(udpFrame(1, 2, 3, 4, pkttest.VLAN{VID: 7}), []byte{3, 3, 1, 4, 0}, uint8(1))
	f.Add([]byte{1, 2, 3}, []byte{2, 1}, uint8(2))
	f.Fuzz(func(t *testing.T, frame, prog []byte, offl uint8) {
		dp, ports := testDP(t, 2, Options{EMCInsertInvProb: 1})
		ports[1].SetCapture(false)
		var acts Actions
		for i, c := range prog {
			if i == 16 {
				break
			}
			switch c % 6 {
			case 0:
				acts = append(acts, Output(uint32(c/6%4)))
			case 1:
				acts = append(acts, PushVLAN([]uint16{0, 0x8100, 0x88a8}[c/6%3], uint16(c)*37))
			case 2:
				acts = append(acts, PopVLAN())
			case 3:
				acts = append(acts, SetVLAN(uint16(c)*101, uint16(c/6)))
			case 4:
				acts = append(acts, Output(2))
			case 5:
				acts = append(acts, Action{Kind: ActionKind(c / 6)})
			}
		}
		var k FlowKey
		ExtractFrame(frame, 1, &k)
		m := ExactMask()
		if err := dp.FlowPut(&k, &m, acts); err != nil {
			t.Fatal(err)
		}
		p := packet.FromFrame(frame)
		if offl&1 != 0 {
			p.Offload = packet.Offload{Flags: offload.FlagNeedsCsum, GSOType: offl >> 5,
				HdrLen: uint16(offl), GSOSize: uint16(offl) * 3, CsumStart: uint16(offl >> 1), CsumOffset: 6}
		}
		_ = dp.Execute(p, acts)
		ports[0].Inject(frame)
		waitStats(t, dp, "hit", func(s Stats) bool { return s.Hit == 1 })
	})
}
