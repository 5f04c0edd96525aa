package main

import (
	"context"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestVLANAccessPorts: hosts 0 and 1 in VLAN 10, host 2 in VLAN 20, all
// configured with ovs-vsctl tag=; only same-VLAN hosts reach each other.
func TestVLANAccessPorts(t *testing.T) {
	s, _ := startEmbeddedMode(t)
	hosts := testutil.NewHosts(t, 3, nil)
	br := testutil.UniqueLinkName("gvb", "")
	vsctl(t, s, "add-br", br,
		"--", "add-port", br, hosts[0].SwitchIf, "tag=10",
		"--", "add-port", br, hosts[1].SwitchIf, "tag=10",
		"--", "add-port", br, hosts[2].SwitchIf, "tag=20")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testutil.EventuallyOK(t, 10*time.Second, 50*time.Millisecond, func() error {
		return hosts[0].Ping(ctx, hosts[1].IP)
	}, "ping inside VLAN 10")
	if err := hosts[0].Ping(ctx, hosts[2].IP); err == nil {
		t.Fatal("ping from VLAN 10 to VLAN 20 succeeded")
	}
	// Moving host 2 into VLAN 10 (a live reconfiguration) connects it.
	vsctl(t, s, "set", "Port", hosts[2].SwitchIf, "tag=10")
	testutil.EventuallyOK(t, 10*time.Second, 50*time.Millisecond, func() error {
		return hosts[0].Ping(ctx, hosts[2].IP)
	}, "ping after moving host 2 to VLAN 10")
}

// TestPatchPorts: two bridges joined by a pair of patch ports.
func TestPatchPorts(t *testing.T) {
	s, _ := startEmbeddedMode(t)
	hosts := testutil.NewHosts(t, 2, nil)
	br0, br1 := testutil.UniqueLinkName("gvb", ""), testutil.UniqueLinkName("gvb", "")
	p0, p1 := testutil.UniqueLinkName("gvp", ""), testutil.UniqueLinkName("gvp", "")
	vsctl(t, s, "add-br", br0, "--", "add-br", br1,
		"--", "add-port", br0, hosts[0].SwitchIf, "--", "add-port", br1, hosts[1].SwitchIf,
		"--", "add-port", br0, p0, "--", "set", "Interface", p0, "type=patch", "options:peer="+p1,
		"--", "add-port", br1, p1, "--", "set", "Interface", p1, "type=patch", "options:peer="+p0)
	for _, p := range []string{p0, p1} {
		if got := s.Get(t, "Interface", p, "ofport"); got != "1" && got != "2" {
			t.Errorf("patch port %s ofport = %s", p, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, pair := range [][2]int{{0, 1}, {1, 0}} {
		a, b := hosts[pair[0]], hosts[pair[1]]
		testutil.EventuallyOK(t, 10*time.Second, 50*time.Millisecond, func() error {
			return a.Ping(ctx, b.IP)
		}, "ping %v -> %v across the patch", a.IP, b.IP)
	}
}
