package xlate

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// traceConfig mirrors the topology used to check formats against Open
// vSwitch 3.1: br0 with trunks p1, p2, access p3 (VLAN 10), dot1q-tunnel t1
// (VLAN 20), LOCAL and a patch to br1 (q1 and LOCAL).
func traceConfig() *Config {
	br0 := bridge("br0",
		ps{name: "p1", of: 1, dp: 1},
		ps{name: "p2", of: 2, dp: 2},
		ps{name: "p3", of: 3, dp: 3, mode: Access, tag: 10},
		ps{name: "patch0", of: 4, patch: "patch1"},
		ps{name: "t1", of: 5, dp: 4, mode: Dot1qTunnel, tag: 20},
		ps{name: "br0", of: LocalPort, dp: 100},
	)
	br1 := bridge("br1",
		ps{name: "q1", of: 1, dp: 5},
		ps{name: "patch1", of: 2, patch: "patch0"},
		ps{name: "br1", of: LocalPort, dp: 101},
	)
	return config(br0, br1)
}

func TestTraceGolden(t *testing.T) {
	clk := newClock()
	x := newX(t, clk, traceConfig())
	// Learn 50:54:00:00:00:02 on p2 (untagged) and :0a on p3 (VLAN 10).
	upcall(t, x, key(2, mac(2), bcast, "-"))
	upcall(t, x, key(3, mac(10), bcast, "-"))
	clk.Advance(5 * time.Second)
	tests := []struct{ name, bridge, flow string }{
		{"unicast", "br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02"},
		{"flood_patch", "br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:07"},
		{"trunk_to_access", "br0", "in_port=1,dl_vlan=10,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:0a"},
		{"flood_vlan10", "br0", "in_port=1,dl_vlan=10,dl_vlan_pcp=3,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:09"},
		{"access_bcast", "br0", "in_port=p3,dl_src=50:54:00:00:00:03,dl_dst=ff:ff:ff:ff:ff:ff"},
		{"access_tagged_drop", "br0", "in_port=3,dl_src=50:54:00:00:00:03,dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan=5"},
		{"hairpin", "br0", "in_port=2,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:02"},
		{"dot1q_tunnel", "br0", "in_port=5,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,dl_vlan=7"},
		{"tcp_from_br1", "br1", "tcp,in_port=1,dl_src=50:54:00:00:00:11,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80"},
		{"bpdu", "br0", "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=01:80:c2:00:00:00"},
		{"odp_qinq", "ovs-netdev", "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:0a)," +
			"eth_type(0x88a8),vlan(vid=10,pcp=2),encap(eth_type(0x8100),vlan(vid=7,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,frag=no),udp(src=53,dst=53)))"},
		{"odp_alone", "in_port(3),eth(src=50:54:00:00:00:0a,dst=50:54:00:00:00:02),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := x.Trace(tt.bridge, tt.flow)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Fatalf("trace %s:\n%s\nwant:\n%s", tt.flow, got, want)
			}
		})
	}
	// "-generate" is accepted and changes nothing.
	a, _ := x.Trace("br0", tests[0].flow)
	b, err := x.Trace("br0", tests[0].flow+" -generate")
	if err != nil || a != b {
		t.Fatalf("-generate: %v\n%s", err, b)
	}
	// Fields may also be separated by spaces.
	b, err = x.Trace("br0", strings.ReplaceAll(tests[0].flow, ",", ", "))
	if err != nil || a != b {
		t.Fatalf("spaces: %v\n%s", err, b)
	}
	// Tracing learns nothing.
	if _, ok := x.MACTable("br0").Lookup(0, mac(1)); ok {
		t.Fatal("trace learned a MAC")
	}
}

func TestTraceErrors(t *testing.T) {
	x := newX(t, nil, traceConfig())
	for _, tt := range []struct{ bridge, flow, want string }{
		{"nope", "in_port=1", "no such bridge"},
		{"br0", "dl_src=50:54:00:00:00:01", "in_port is required"},
		{"br0", "in_port=77", "no port 77"},
		{"br0", "in_port=1,dl_src=zz", "dl_src=zz"},
		{"br0", "in_port=1,dl_vlan=4096", "out of range"},
		{"br0", "in_port=1,bogus=1", "unknown field bogus"},
		{"br0", "in_port=1,frobnicate", "unknown keyword"},
		{"br0", "in_port=1 50540000000150540000000208004500", "not supported"},
		{"br0", "in_port(99),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)", "no port with datapath port number 99"},
		{"br0", "in_port(1),eth(src=zz,dst=00:00:00:00:00:02)", "eth src"},
		{"br0", "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02", "unbalanced"},
		{"br0", "eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)", "in_port is required"},
		{"br0", "in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x8100),vlan(vid=5000)", "out of range"},
	} {
		_, err := x.Trace(tt.bridge, tt.flow)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Trace(%s, %s) = %v, want error containing %q", tt.bridge, tt.flow, err, tt.want)
		}
	}
}

// FuzzTrace checks that no flow string (it arrives over the unixctl socket)
// makes Trace panic.
func FuzzTrace(f *testing.F) {
	for _, s := range []string{
		"in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02",
		"tcp,in_port=p3,dl_vlan=10,dl_vlan_pcp=7,vlan_tci1=0x1005,nw_src=10.0.0.1,tp_dst=80",
		"in_port=LOCAL,vlan_tci=0x1fff/0x1fff,ipv6_src=::1",
		"in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x8100),vlan(vid=5,pcp=1),encap(eth_type(0x86dd),ipv6(src=::1,dst=::2,proto=6),tcp(src=1,dst=2))",
		",,=,in_port=,dl_vlan=-1",
	} {
		f.Add(s)
	}
	x := New()
	x.Publish(traceConfig())
	f.Fuzz(func(t *testing.T, spec string) {
		out, err := x.Trace("br0", spec)
		if err == nil && !strings.Contains(out, "Datapath actions: ") {
			t.Fatalf("trace without actions:\n%s", out)
		}
	})
}
