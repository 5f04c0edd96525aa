package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/vishvananda/netlink"
)

// TestLibvirtTapLifecycle follows a VM NIC the way libvirt 9.0 and qemu
// drive it: the tap exists but is DOWN when add-port runs, comes up,
// disappears when qemu exits (before del-port), and del-port runs last.
// Another port on the bridge must not notice.
func TestLibvirtTapLifecycle(t *testing.T) {
	s, _ := startEmbeddedMode(t)
	br := testutil.UniqueLinkName("gvb", "")
	other := testutil.NewVethPair(t, testutil.Veth{})
	vsctl(t, s, "add-br", br, "--", "add-port", br, other.Name)

	vnet := testutil.UniqueLinkName("vnet", "")
	q, err := tap.Create(vnet, tap.Options{}) // "qemu" holds the tap
	testutil.SkipIfNotSupported(t, err)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l, err := netlink.LinkByName(vnet)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	vsctl(t, s, "--", "--may-exist", "add-port", br, vnet,
		"--", "set", "Interface", vnet, `external-ids:attached-mac="52:54:00:11:22:33"`,
		"--", "set", "Interface", vnet, `external-ids:iface-id="0b9e0a43-8a7e-4a53-9a5f-6ad3c2b0f3a1"`,
		"--", "set", "Interface", vnet, `external-ids:vm-id="6c1c4bd0-0d38-4e0b-8f59-2b1b1f7c9e11"`,
		"--", "set", "Interface", vnet, "external-ids:iface-status=active")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("add-port took %v (libvirt gives up at 5 s)", d)
	}
	ofport, err := strconv.Atoi(s.Get(t, "Interface", vnet, "ofport"))
	if err != nil || ofport <= 0 {
		t.Fatalf("ofport of a DOWN tap = %d (%v)", ofport, err)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		return s.Get(t, "Interface", vnet, "admin_state") == "down"
	}, "admin_state down while the tap is down")

	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		return s.Get(t, "Interface", vnet, "admin_state") == "up"
	}, "admin_state up after the tap came up")

	// qemu exits: the tap vanishes before libvirt's del-port.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		return s.Get(t, "Interface", vnet, "link_state") == "down" && s.Get(t, "Interface", vnet, "error") != "[]"
	}, "vanished tap shows an error and link down")
	if got := s.Get(t, "Interface", other.Name, "ofport"); got != "1" {
		t.Errorf("other port ofport = %s", got)
	}
	start = time.Now()
	vsctl(t, s, "--", "--if-exists", "del-port", vnet)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("del-port took %v", d)
	}
	if got := s.Get(t, "Interface", other.Name, "error"); got != "[]" {
		t.Errorf("other port error = %s", got)
	}
}
