package testutil_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/vishvananda/netlink"
)

func TestNetNS(t *testing.T) {
	ns := testutil.NewNetNS(t)
	out := ns.Run(t, "ip", "-o", "link", "show")
	if !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 {
		t.Fatalf("new namespace links:\n%s", out)
	}
	if !strings.Contains(out, "UP") {
		t.Fatalf("loopback not up:\n%s", out)
	}
	// Go code inside the namespace sees the namespace's links only.
	var n int
	err := ns.Do(func() error {
		ifs, err := net.Interfaces()
		n = len(ifs)
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("interfaces seen inside Do: %d, %v", n, err)
	}
	h, err := ns.Handle()
	if err != nil {
		t.Fatal(err)
	}
	links, err := h.LinkList()
	h.Close()
	if err != nil || len(links) != 1 {
		t.Fatalf("links in namespace: %v %v", links, err)
	}
	if _, _, err := ns.Exec(context.Background(), "false"); err == nil {
		t.Fatal("Exec(false) returned no error")
	}
}

func TestNetNSCleanup(t *testing.T) {
	var path string
	t.Run("inner", func(t *testing.T) {
		path = testutil.NewNetNS(t).Path
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	})
	if path == "" {
		t.Skip("inner test skipped")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("namespace %s still exists after its test ended: %v", path, err)
	}
}

func TestDoPanics(t *testing.T) {
	ns := testutil.NewNetNS(t)
	defer func() {
		if r := recover(); r != "inside" {
			t.Fatalf("recovered %v, want the panic from inside Do", r)
		}
	}()
	_ = ns.Do(func() error { panic("inside") })
}

// TestHostsRootSwitchSide checks the default layout: switch-side ends in
// the root namespace, up, without IPv6; hosts with their fixed addresses.
func TestHostsRootSwitchSide(t *testing.T) {
	var names []string
	t.Run("hosts", func(t *testing.T) {
		hosts := testutil.NewHosts(t, 3, nil)
		checkRootHosts(t, hosts)
		// A second topology reuses addresses and MACs but not link names.
		hosts = append(hosts, testutil.NewHosts(t, 1, nil)...)
		for _, h := range hosts {
			names = append(names, h.SwitchIf)
		}
	})
	for _, name := range names {
		if _, err := netlink.LinkByName(name); err == nil {
			t.Errorf("%s still exists after cleanup", name)
		}
	}
}

func checkRootHosts(t *testing.T, hosts []*testutil.Host) {
	for i, h := range hosts {
		l, err := netlink.LinkByName(h.SwitchIf)
		if err != nil {
			t.Fatalf("host %d: switch side %s not in the root namespace: %v", i, h.SwitchIf, err)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("%s is down", h.SwitchIf)
		}
		if len(h.SwitchIf) > 15 {
			t.Errorf("link name %q too long", h.SwitchIf)
		}
		v6, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + h.SwitchIf + "/disable_ipv6")
		if err == nil && strings.TrimSpace(string(v6)) != "1" {
			t.Errorf("IPv6 enabled on %s", h.SwitchIf)
		}
		if want := fmt.Sprintf("10.0.0.%d", i+1); h.IP.String() != want || h.Addr.String() != want+"/24" {
			t.Errorf("host %d address %v (%v), want %s", i, h.IP, h.Addr, want)
		}
		out := h.NS.Run(t, "ip", "-o", "addr", "show", "dev", "eth0")
		if !strings.Contains(out, h.Addr.String()) || strings.Contains(out, "inet6") {
			t.Errorf("host %d eth0 addresses:\n%s", i, out)
		}
		if link := h.NS.Run(t, "ip", "-o", "link", "show", "eth0"); !strings.Contains(link, h.MAC.String()) {
			t.Errorf("host %d eth0 lacks MAC %v:\n%s", i, h.MAC, link)
		}
	}
}
