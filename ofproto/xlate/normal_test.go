package xlate

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gvswitch/gvswitch/datapath"
)

// modeSpecs are the port configurations of the VLAN matrix.
var modeSpecs = []struct {
	name string
	p    ps
}{
	{"access10", ps{mode: Access, tag: 10}},
	{"trunk", ps{mode: Trunk}},
	{"trunk20", ps{mode: Trunk, trunks: []int{20}}},
	{"native-tagged10", ps{mode: NativeTagged, tag: 10}},
	{"native-untagged10", ps{mode: NativeUntagged, tag: 10}},
	{"dot1q10", ps{mode: Dot1qTunnel, tag: 10}},
}

// vlanMatrix gives, per input frame and ingress mode, what a broadcast
// leaves with on an egress port of each mode (in modeSpecs order): the tags
// outer first ("-" untagged, "s" = 802.1ad, "pN" = PCP), or "x" for not
// delivered. Written from OVS's rules (ovs-vswitchd.conf.db(5) and
// ofproto-dpif-xlate's xvlan functions), not from this implementation, and
// checked cell by cell against Open vSwitch 3.1's ofproto/trace (dummy
// datapath, one port of each mode, the same frames as datapath flows).
var vlanMatrix = map[string]map[string][6]string{
	"-": {
		"access10":          {"-", "10", "x", "10", "-", "-"},
		"trunk":             {"x", "-", "x", "x", "x", "x"},
		"trunk20":           {"x", "x", "x", "x", "x", "x"},
		"native-tagged10":   {"-", "10", "x", "10", "-", "-"},
		"native-untagged10": {"-", "10", "x", "10", "-", "-"},
		"dot1q10":           {"-", "s10", "x", "s10", "-", "-"},
	},
	"10": {
		"access10":          {"x", "x", "x", "x", "x", "x"},
		"trunk":             {"-", "10", "x", "10", "-", "-"},
		"trunk20":           {"x", "x", "x", "x", "x", "x"},
		"native-tagged10":   {"-", "10", "x", "10", "-", "-"},
		"native-untagged10": {"-", "10", "x", "10", "-", "-"},
		"dot1q10":           {"x", "s10:10", "x", "s10:10", "10", "10"},
	},
	"20": {
		"access10":          {"x", "x", "x", "x", "x", "x"},
		"trunk":             {"x", "20", "20", "20", "20", "x"},
		"trunk20":           {"x", "20", "20", "20", "20", "x"},
		"native-tagged10":   {"x", "20", "20", "20", "20", "x"},
		"native-untagged10": {"x", "20", "20", "20", "20", "x"},
		"dot1q10":           {"x", "s10:20", "x", "s10:20", "20", "20"},
	},
	"0p3": { // priority-tagged: untagged for VLAN purposes, PCP kept where a tag is pushed
		"access10":          {"-", "10p3", "x", "10p3", "-", "-"},
		"trunk":             {"x", "0p3", "x", "x", "x", "x"},
		"trunk20":           {"x", "x", "x", "x", "x", "x"},
		"native-tagged10":   {"-", "10p3", "x", "10p3", "-", "-"},
		"native-untagged10": {"-", "10p3", "x", "10p3", "-", "-"},
		"dot1q10":           {"-", "s10:0p3", "x", "s10:0p3", "0p3", "0p3"},
	},
	"10:7": { // double-tagged: only the outer tag decides (OVS's vlan-limit=1)
		"access10":          {"x", "x", "x", "x", "x", "x"},
		"trunk":             {"7", "10:7", "x", "10:7", "7", "7"},
		"trunk20":           {"x", "x", "x", "x", "x", "x"},
		"native-tagged10":   {"7", "10:7", "x", "10:7", "7", "7"},
		"native-untagged10": {"7", "10:7", "x", "10:7", "7", "7"},
		"dot1q10":           {"x", "s10:10:7", "x", "s10:10:7", "10:7", "10:7"},
	},
	"s10": {
		"access10":          {"x", "x", "x", "x", "x", "x"},
		"trunk":             {"-", "s10", "x", "s10", "-", "-"},
		"trunk20":           {"x", "x", "x", "x", "x", "x"},
		"native-tagged10":   {"-", "s10", "x", "s10", "-", "-"},
		"native-untagged10": {"-", "s10", "x", "s10", "-", "-"},
		"dot1q10":           {"x", "s10:s10", "x", "s10:s10", "s10", "s10"},
	},
}

// TestVLANModePairs floods every frame kind from every ingress mode to every
// egress mode and checks the egress tags against vlanMatrix.
func TestVLANModePairs(t *testing.T) {
	for frame, rows := range vlanMatrix {
		for _, in := range modeSpecs {
			want, ok := rows[in.name]
			if !ok {
				t.Fatalf("matrix lacks %s/%s", frame, in.name)
			}
			for j, out := range modeSpecs {
				t.Run(fmt.Sprintf("%s/%s->%s", frame, in.name, out.name), func(t *testing.T) {
					pin, pout := in.p, out.p
					pin.name, pin.of = "in", 1
					pout.name, pout.of = "out", 2
					x := newX(t, nil, config(bridge("br0", pin, pout)))
					acts, _ := upcall(t, x, key(1, mac(1), bcast, frame))
					got, delivered := simulate(t, frame, acts)[2]
					if !delivered {
						got = "x"
					}
					if got != want[j] {
						t.Fatalf("frame %s: got %q (actions %s), want %q", frame, got, acts, want[j])
					}
				})
			}
		}
	}
}

// classify is an independent model of which VLAN a single-tagged or
// untagged frame belongs to when it enters a port (ok false: dropped).
func classify(p ps, wire string) (uint16, bool) {
	ts := tags(wire)
	vid := uint16(0)
	if len(ts) > 0 {
		vid = ts[0].VID()
	}
	all := func(list []int, v uint16) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if uint16(x) == v {
				return true
			}
		}
		return false
	}
	switch p.mode {
	case Access:
		return p.tag, vid == 0
	case Trunk:
		return vid, all(p.trunks, vid)
	case NativeTagged, NativeUntagged:
		if vid == 0 {
			return p.tag, true
		}
		return vid, vid == p.tag || all(p.trunks, vid)
	default:
		return p.tag, all(p.cvlans, vid)
	}
}

// TestNoVLANCrossing floods frames of many VLANs into a bridge with one port
// of every mode and checks that every copy, classified by the port it
// leaves on as if it came back in, is in the VLAN it entered in.
func TestNoVLANCrossing(t *testing.T) {
	var ports []ps
	for i, m := range modeSpecs {
		if m.p.mode == Dot1qTunnel {
			continue // QinQ deliberately exposes customer tags on untagging ports
		}
		p := m.p
		p.name, p.of = m.name, uint32(i+1)
		ports = append(ports, p)
	}
	ports = append(ports, ps{name: "access20", of: 20, mode: Access, tag: 20},
		ps{name: "nu20", of: 21, mode: NativeUntagged, tag: 20, trunks: []int{10, 30}},
		ps{name: "access0", of: 22, mode: Access})
	x := newX(t, nil, config(bridge("br0", ports...)))
	frames := []string{"-", "0p5", "10", "20", "30", "4095", "s10", "s20"}
	for _, in := range ports {
		for _, frame := range frames {
			vlan, ok := classify(in, frame)
			acts, _ := upcall(t, x, key(in.of, mac(int(in.of)), bcast, frame))
			outs := simulate(t, frame, acts)
			if !ok && len(outs) > 0 {
				t.Errorf("%s: frame %s should be dropped, got %v", in.name, frame, outs)
			}
			for _, out := range ports {
				wire, sent := outs[out.of]
				if !sent {
					continue
				}
				if out.of == in.of {
					t.Errorf("%s: frame %s sent back to its input port", in.name, frame)
				}
				got, ok := classify(out, wire)
				if !ok || got != vlan {
					t.Errorf("%s(frame %s, VLAN %d) -> %s as %q: classified VLAN %d ok=%v", in.name, frame, vlan, out.name, wire, got, ok)
				}
			}
		}
	}
}

func TestAccessDropsDoubleTaggedPriorityFrame(t *testing.T) {
	x := newX(t, nil, config(bridge("br0", ps{name: "a", of: 1, mode: Access, tag: 10}, ps{name: "t", of: 2})))
	acts, m := upcall(t, x, key(1, mac(1), bcast, "0p1:20"))
	if len(acts) != 0 {
		t.Fatalf("priority-tagged double-tagged frame forwarded: %s", acts)
	}
	if m.VLAN[1].TPID != datapath.ExactU16 {
		t.Fatal("inner tag presence not in the mask")
	}
	// The same priority tag without an inner tag is accepted.
	acts, _ = upcall(t, x, key(1, mac(1), bcast, "0p1"))
	if got := simulate(t, "0p1", acts)[2]; got != "10p1" {
		t.Fatalf("priority-tagged frame: got %q (%s)", got, acts)
	}
}

func TestDot1qTunnelCVLANs(t *testing.T) {
	x := newX(t, nil, config(bridge("br0",
		ps{name: "q", of: 1, mode: Dot1qTunnel, tag: 100, cvlans: []int{5, 6}},
		ps{name: "t", of: 2},
		ps{name: "q2", of: 3, mode: Dot1qTunnel, tag: 100, cvlans: []int{6}},
	)))
	acts, _ := upcall(t, x, key(1, mac(1), bcast, "5"))
	outs := simulate(t, "5", acts)
	if outs[2] != "s100:5" {
		t.Fatalf("trunk got %q (%s)", outs[2], acts)
	}
	if _, ok := outs[3]; ok {
		t.Fatalf("customer VLAN 5 left by a port that only allows 6: %s", acts)
	}
	if acts, _ := upcall(t, x, key(1, mac(1), bcast, "7")); len(acts) != 0 {
		t.Fatalf("excluded customer VLAN forwarded: %s", acts)
	}
	if acts, _ := upcall(t, x, key(1, mac(1), bcast, "-")); len(acts) != 0 {
		t.Fatalf("untagged frame forwarded although cvlans lacks 0: %s", acts)
	}
	// A trunk frame in the service VLAN with customer VLAN 6 reaches both
	// tunnel ports stripped of the service tag.
	acts, _ = upcall(t, x, key(2, mac(2), bcast, "s100:6"))
	outs = simulate(t, "s100:6", acts)
	if outs[1] != "6" || outs[3] != "6" {
		t.Fatalf("outputs %v (%s)", outs, acts)
	}
	// An 802.1Q qinq-ethtype.
	b := bridge("br0", ps{name: "q", of: 1, mode: Dot1qTunnel, tag: 100}, ps{name: "t", of: 2})
	b.Ports[1].QinQEthType = datapath.EthTypeVLAN
	x.Publish(config(b))
	acts, _ = upcall(t, x, key(1, mac(1), bcast, "-"))
	if got := simulate(t, "-", acts)[2]; got != "100" {
		t.Fatalf("qinq-ethtype 802.1q: got %q (%s)", got, acts)
	}
}

func threePorts() *Config {
	return config(bridge("br0",
		ps{name: "p1", of: 1, dp: 11},
		ps{name: "p2", of: 2, dp: 12},
		ps{name: "p3", of: 3, dp: 13},
		ps{name: "br0", of: LocalPort, dp: 10},
	))
}

func TestLearningAndUnicast(t *testing.T) {
	x := newX(t, nil, threePorts())
	// Unknown destination: flood to every other port, ofport order, LOCAL last.
	acts, _ := upcall(t, x, key(11, mac(1), mac(2), "-"))
	if acts.String() != "12,13,10" {
		t.Fatalf("flood = %s", acts)
	}
	// mac(1) is now known on port 1.
	acts, _ = upcall(t, x, key(12, mac(2), mac(1), "-"))
	if acts.String() != "11" {
		t.Fatalf("unicast = %s", acts)
	}
	acts, _ = upcall(t, x, key(11, mac(1), mac(2), "-"))
	if acts.String() != "12" {
		t.Fatalf("unicast back = %s", acts)
	}
	// Destination learned on the input port: drop.
	acts, _ = upcall(t, x, key(11, mac(1), mac(1), "-"))
	if len(acts) != 0 {
		t.Fatalf("hairpin = %s", acts)
	}
	// Multicast destination floods; a multicast source is not learned.
	mc := [6]byte{0x01, 0x00, 0x5e, 0, 0, 1}
	acts, _ = upcall(t, x, key(13, mc, mac(9), "-"))
	if acts.String() != "11,12,10" {
		t.Fatalf("multicast src flood = %s", acts)
	}
	if _, ok := x.MACTable("br0").Lookup(0, mc); ok {
		t.Fatal("multicast source learned")
	}
	acts, _ = upcall(t, x, key(13, mac(3), mc, "-"))
	if acts.String() != "11,12,10" {
		t.Fatalf("multicast dst = %s", acts)
	}
	// Learning is per VLAN: mac(1) in VLAN 5 is unknown.
	acts, _ = upcall(t, x, key(12, mac(2), mac(1), "5"))
	if acts.String() != "11,13,10" {
		t.Fatalf("other VLAN = %s", acts)
	}
	// Reserved destinations are dropped unless forward-bpdu.
	stp := [6]byte{0x01, 0x80, 0xc2, 0, 0, 0}
	if acts, _ := upcall(t, x, key(11, mac(1), stp, "-")); len(acts) != 0 {
		t.Fatalf("BPDU forwarded: %s", acts)
	}
	cfg := threePorts()
	cfg.Bridges["br0"].ForwardBPDU = true
	x.Publish(cfg)
	if acts, _ := upcall(t, x, key(11, mac(1), stp, "-")); acts.String() != "12,13,10" {
		t.Fatalf("forward-bpdu: %s", acts)
	}
}

func TestMACMove(t *testing.T) {
	x := newX(t, nil, threePorts())
	upcall(t, x, key(11, mac(1), bcast, "-"))
	<-x.Changes() // learning signals revalidation
	acts, _ := upcall(t, x, key(12, mac(2), mac(1), "-"))
	if acts.String() != "11" {
		t.Fatalf("before move: %s", acts)
	}
	fe := installed(key(12, mac(2), mac(1), "-"), acts, mustMask(t, x, key(12, mac(2), mac(1), "-")), x.now())
	// mac(1) moves to port 3.
	upcall(t, x, key(13, mac(1), bcast, "-"))
	select {
	case <-x.Changes():
	default:
		t.Fatal("move did not signal revalidation")
	}
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "-")); acts.String() != "13" {
		t.Fatalf("after move: %s", acts)
	}
	newActs, keep := x.RevalidateFlow(fe)
	if !keep || newActs.String() != "13" {
		t.Fatalf("revalidate after move: %s keep=%v", newActs, keep)
	}
	if s := x.MACTable("br0").Stats(); s.Moved != 1 {
		t.Fatalf("moved = %d", s.Moved)
	}
}

func mustMask(t *testing.T, x *Xlate, k *datapath.FlowKey) datapath.Mask {
	t.Helper()
	_, m := x.Translate(k)
	return m
}

func TestFloodVLANs(t *testing.T) {
	cfg := threePorts()
	cfg.Bridges["br0"].FloodVLANs = NewVLANSet(7)
	x := newX(t, nil, cfg)
	upcall(t, x, key(11, mac(1), bcast, "7"))
	upcall(t, x, key(12, mac(2), mac(1), "7"))
	if n := x.MACTable("br0").Len(); n != 0 {
		t.Fatalf("learned %d MACs in a flood VLAN", n)
	}
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "7")); acts.String() != "11,13,10" {
		t.Fatalf("flood VLAN unicast = %s", acts)
	}
	// A static entry does not beat flood_vlans either.
	if err := x.AddStaticFDB("br0", "p1", "7", "50:54:00:00:00:01"); err != nil {
		t.Fatal(err)
	}
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "7")); acts.String() != "11,13,10" {
		t.Fatalf("flood VLAN with static entry = %s", acts)
	}
	// Other VLANs still learn.
	upcall(t, x, key(11, mac(1), bcast, "8"))
	if acts, _ := upcall(t, x, key(12, mac(2), mac(1), "8")); acts.String() != "11" {
		t.Fatalf("VLAN 8 = %s", acts)
	}
}

func TestDownPorts(t *testing.T) {
	cfg := threePorts()
	cfg.Bridges["br0"].Ports[3].Down = true
	x := newX(t, nil, cfg)
	if acts, _ := upcall(t, x, key(11, mac(1), bcast, "-")); acts.String() != "12,10" {
		t.Fatalf("flood with a down port = %s", acts)
	}
	if acts, _ := upcall(t, x, key(13, mac(3), bcast, "-")); len(acts) != 0 {
		t.Fatalf("frame from a down port forwarded: %s", acts)
	}
}

func TestUnknownInPort(t *testing.T) {
	x := newX(t, nil, threePorts())
	acts, m := upcall(t, x, key(99, mac(1), bcast, "-"))
	if len(acts) != 0 || m.InPort != datapath.ExactU32 {
		t.Fatalf("unknown in_port: %s %+v", acts, m.InPort)
	}
	// Before the first Publish everything drops.
	x2 := New()
	if acts, _, err := x2.Upcall(key(11, mac(1), bcast, "-"), nil); err != nil || len(acts) != 0 {
		t.Fatalf("empty config: %s %v", acts, err)
	}
}

// TestMegaflowMask documents which fields NORMAL un-wildcards.
func TestMegaflowMask(t *testing.T) {
	x := newX(t, nil, threePorts())
	k1 := key(11, mac(1), mac(2), "-")
	k1.IPv4Src, k1.IPv4Dst, k1.NwProto, k1.TpSrc, k1.TpDst = [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 6, 1234, 80
	_, m := upcall(t, x, k1)
	var want datapath.Mask
	want.InPort = datapath.ExactU32
	want.VLAN[0] = datapath.VLANTag{TPID: 0xffff, TCI: 0x0fff}
	want.EthSrc, want.EthDst = datapath.ExactMAC, datapath.ExactMAC
	if m != want {
		t.Fatalf("mask %+v\nwant %+v", m, want)
	}
	// maskWithin only looks at the fields above: nothing else may be set.
	rest := m
	rest.InPort, rest.VLAN, rest.EthSrc, rest.EthDst = 0, [2]datapath.VLANTag{}, [6]byte{}, [6]byte{}
	if !rest.IsZero() {
		t.Fatalf("mask sets fields maskWithin ignores: %+v", rest)
	}
	// Every L3/L4 variant of the same L2 flow matches the same megaflow.
	k2 := *k1
	k2.IPv4Src, k2.NwProto, k2.TpSrc, k2.TpDst, k2.EthType = [4]byte{192, 168, 1, 1}, 17, 53, 53, datapath.EthTypeIPv6
	if k1.Masked(&m) != k2.Masked(&m) {
		t.Fatal("L3/L4 fields leak into the megaflow")
	}
	// A tag pushed back with its PCP reads the whole TCI.
	k3 := key(11, mac(1), mac(2), "10p2")
	x.Publish(config(bridge("br0", ps{name: "t", of: 1, dp: 11}, ps{name: "a", of: 2, mode: Access, tag: 10}, ps{name: "t2", of: 3})))
	acts, m3 := upcall(t, x, k3)
	if acts.String() != "pop_vlan,2,push_vlan(vid=10,pcp=2),3" || m3.VLAN[0].TCI != 0xffff {
		t.Fatalf("actions %s, TCI mask %#x", acts, m3.VLAN[0].TCI)
	}
}

// TestNoVLANCrossingRandom repeats TestNoVLANCrossing's check on random
// bridges: random modes, tags and trunk lists over a few VLANs, random
// learned state (unicast and flooded frames), random frames.
func TestNoVLANCrossingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vids := []int{0, 1, 2, 3}
	pick := func() []int {
		var out []int
		for _, v := range vids {
			if rng.IntN(3) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	modes := []VLANMode{Trunk, Access, NativeTagged, NativeUntagged}
	frames := []string{"-", "0p2", "1", "2", "3", "s1", "s2"}
	for iter := 0; iter < 300; iter++ {
		var ports []ps
		n := 2 + rng.IntN(5)
		for i := 1; i <= n; i++ {
			p := ps{name: fmt.Sprintf("p%d", i), of: uint32(i), mode: modes[rng.IntN(len(modes))]}
			if p.mode != Trunk || rng.IntN(2) == 0 {
				p.tag = uint16(vids[rng.IntN(len(vids))])
			}
			if p.mode != Access && rng.IntN(2) == 0 {
				p.trunks = pick()
			}
			ports = append(ports, p)
		}
		x := newX(t, nil, config(bridge("br0", ports...)))
		for round := 0; round < 20; round++ {
			in := ports[rng.IntN(len(ports))]
			frame := frames[rng.IntN(len(frames))]
			dst := bcast
			if rng.IntN(2) == 0 {
				dst = mac(1 + rng.IntN(4))
			}
			src := mac(1 + rng.IntN(4))
			vlan, ok := classify(in, frame)
			acts, _ := upcall(t, x, key(in.of, src, dst, frame))
			outs := simulate(t, frame, acts)
			if !ok && len(outs) > 0 {
				t.Fatalf("iter %d: %+v dropped frame %s forwarded: %v", iter, in, frame, outs)
			}
			for _, out := range ports {
				wire, sent := outs[out.of]
				if !sent {
					continue
				}
				if out.of == in.of {
					t.Fatalf("iter %d: frame sent back to its input port", iter)
				}
				if got, ok := classify(out, wire); !ok || got != vlan {
					t.Fatalf("iter %d: %+v frame %s (VLAN %d) -> %+v as %q: VLAN %d ok=%v (%s)", iter, in, frame, vlan, out, wire, got, ok, acts)
				}
			}
		}
	}
}
