package testutil_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/vishvananda/netlink"
)

// TestBaselineLinuxBridge is the harness's acceptance test: two namespace
// hosts joined through a Linux bridge (in a third namespace) ping each other
// both ways, over IPv4 and IPv6. It proves the topology helpers before any
// gvswitch code is involved; switch tests use the same NewHosts call and
// attach Host.SwitchIf to gvswitch instead of a bridge.
func TestBaselineLinuxBridge(t *testing.T) {
	testutil.RequireCap(t, testutil.CapNetAdmin)
	testutil.RequireBinary(t, "ping")
	sw := testutil.NewNetNS(t)
	hosts := testutil.NewHosts(t, 2, &testutil.HostsOptions{SwitchNS: sw, IPv6: true})

	h, err := sw.Handle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := h.LinkAdd(br); err != nil {
		testutil.Require(t, false, "cannot create a Linux bridge: %v", err)
	}
	for _, host := range hosts {
		l, err := h.LinkByName(host.SwitchIf)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetMaster(l, br); err != nil {
			t.Fatalf("enslave %s: %v", host.SwitchIf, err)
		}
	}
	if err := h.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for _, pair := range [][2]*testutil.Host{{hosts[0], hosts[1]}, {hosts[1], hosts[0]}} {
		src, dst := pair[0], pair[1]
		for _, dstIP := range []netip.Addr{dst.IP, dst.IP6} {
			testutil.EventuallyOK(t, 10*time.Second, 50*time.Millisecond, func() error {
				return src.Ping(ctx, dstIP)
			}, "host %d cannot ping %v", src.Index, dstIP)
		}
	}
	// The hosts learned each other's deterministic MACs.
	out := hosts[0].NS.Run(t, "ip", "neigh", "show", hosts[1].IP.String())
	if want := hosts[1].MAC.String(); !strings.Contains(out, want) {
		t.Fatalf("host 0 neighbour entry %q lacks %s", out, want)
	}
}
