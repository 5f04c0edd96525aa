//go:build linux

package libvirt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

const reach = 60 * time.Second

// portOfMAC waits until the domain has a NIC with mac and returns its TAP
// (switch port) name.
func (m *mode) portOfMAC(t *testing.T, dom, mac string) string {
	t.Helper()
	var port string
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
		for dev, hw := range m.nics(t, m.lv, dom) {
			if strings.EqualFold(hw, mac) {
				port = dev
				return true
			}
		}
		return false
	}, "domain %s has no NIC %s", dom, mac)
	return port
}

// nicType returns the live interface type of the domain's NIC with mac.
func (m *mode) nicType(t *testing.T, dom, mac string) string {
	t.Helper()
	out := m.lv.mustVirsh(t, "domiflist", dom)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.EqualFold(f[len(f)-1], mac) {
			return f[1]
		}
	}
	t.Fatalf("domain %s has no NIC %s:\n%s", dom, mac, out)
	return ""
}

// waitPort waits until port is (present) or is not (!present) on the bridge.
func (m *mode) waitPort(t *testing.T, port string, present bool) {
	t.Helper()
	testutil.EventuallyOK(t, 30*time.Second, 100*time.Millisecond, func() error {
		ok, err := m.hasPort(port)
		if err != nil {
			return err
		}
		if ok != present {
			return fmt.Errorf("port %s on %s: %v", port, m.br, ok)
		}
		return nil
	}, "port %s present=%v on %s", port, present, m.br)
}

// waitUnplugged waits until the NIC with mac is gone from the domain and its
// port from the bridge.
func (m *mode) waitUnplugged(t *testing.T, dom, mac, port string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		for _, hw := range m.nics(t, m.lv, dom) {
			if strings.EqualFold(hw, mac) {
				return false
			}
		}
		return true
	}, "NIC %s still in domain %s after detach", mac, dom)
	m.waitPort(t, port, false)
}

// hotplug plugs a NIC into guest "h" (booted without one) and unplugs it:
// first with virsh attach-interface/detach-interface on the network, then
// with attach-device/detach-device of an <interface type='bridge'> with
// <virtualport type='openvswitch'/>.
func (m *mode) hotplug(t *testing.T, e *env) {
	h := m.guests["h"]
	mac1 := e.mac(m.idx, 0x41)
	t.Run("attach-interface", func(t *testing.T) {
		m.plugCycle(t, mac1,
			func() error {
				_, err := m.lv.virsh("attach-interface", h.dom, "network", m.net, "--model", "virtio", "--mac", mac1, "--live")
				return err
			},
			func() error {
				// The type to give is the one of the live XML, which
				// domiflist shows (for this network: "bridge").
				typ := m.nicType(t, h.dom, mac1)
				_, err := m.lv.virsh("detach-interface", h.dom, typ, "--mac", mac1, "--live")
				return err
			})
	})
	mac2 := e.mac(m.idx, 0x42)
	xml := bridgeNIC(m.br, mac2, true, "")
	t.Run("attach-device", func(t *testing.T) {
		m.plugCycle(t, mac2,
			func() error { _, err := m.lv.virshXML("attach-device", xml, h.dom, "--live"); return err },
			func() error { _, err := m.lv.virshXML("detach-device", xml, h.dom, "--live"); return err })
	})
}

func (m *mode) plugCycle(t *testing.T, mac string, attach, detach func() error) {
	h, a := m.guests["h"], m.guests["a"]
	hm, am := h.mark(), a.mark()
	if err := attach(); err != nil {
		t.Fatalf("attach: %v\nlibvirtd log:\n%s", err, m.lv.tail(m.lv.log, 30))
	}
	port := m.portOfMAC(t, h.dom, mac)
	m.waitPort(t, port, true)
	h.waitReach(t, ipA, hm, reach)
	a.waitReach(t, ipH, am, reach)
	if err := detach(); err != nil {
		t.Fatalf("detach: %v\nlibvirtd log:\n%s", err, m.lv.tail(m.lv.log, 30))
	}
	m.waitUnplugged(t, h.dom, mac, port)
	h.waitUnreachable(t, ipA, h.mark(), 3, reach)
	a.waitUnreachable(t, ipH, a.mark(), 3, reach)
}

// bandwidth hot-plugs a NIC with <bandwidth> into guest "a": libvirt's QoS
// commands (qos + queue rows, ingress policing) must succeed, and its
// hot-unplug clean-up must remove them. The switch need not enforce them.
func (m *mode) bandwidth(t *testing.T, e *env) {
	a := m.guests["a"]
	mac := e.mac(m.idx, 0x51)
	// average in kB/s: ingress_policing_rate = 8 * average kbit/s.
	xml := netNIC(m.net, mac, `<bandwidth><inbound average='100000' burst='1024'/><outbound average='100000' burst='1024'/></bandwidth>`)
	if _, err := m.lv.virshXML("attach-device", xml, a.dom, "--live"); err != nil {
		t.Fatalf("attach NIC with bandwidth: %v\nlibvirtd log:\n%s", err, m.lv.tail(m.lv.log, 30))
	}
	port := m.portOfMAC(t, a.dom, mac)
	m.waitPort(t, port, true)
	if q := strings.TrimSpace(m.sw.mustVsctl(t, "get", "Port", port, "qos")); q == "[]" || q == "" {
		t.Errorf("Port %s qos is empty after <bandwidth><inbound>", port)
	}
	rate := strings.TrimSpace(m.sw.mustVsctl(t, "get", "Interface", port, "ingress_policing_rate"))
	if n, err := strconv.Atoi(rate); err != nil || n != 800000 {
		t.Errorf("Interface %s ingress_policing_rate = %q, want 800000 (<outbound average='100000'>)", port, rate)
	}
	if _, err := m.lv.virshXML("detach-device", xml, a.dom, "--live"); err != nil {
		t.Fatalf("detach NIC with bandwidth: %v", err)
	}
	m.waitUnplugged(t, a.dom, mac, port)
	for _, table := range []string{"qos", "queue"} {
		out := m.sw.mustVsctl(t, "--bare", "--columns=_uuid", "find", table, "external-ids:ifname="+port)
		if s := strings.TrimSpace(out); s != "" {
			t.Errorf("%s rows of %s left after hot-unplug: %s", table, port, s)
		}
	}
}

// restart restarts libvirtd under running guests: the domains and their
// ports stay, and traffic goes on.
func (m *mode) restart(t *testing.T, e *env) {
	ports := func() []string {
		out := m.sw.mustVsctl(t, "list-ports", m.br)
		p := strings.Fields(out)
		slices.Sort(p)
		return p
	}
	before := ports()
	marks := map[string]int{}
	for r, g := range m.guests {
		marks[r] = g.mark()
	}
	logOff := m.lv.logSize()
	m.lv.stop(t)
	m.lv.start(t, m.path)
	running := strings.Fields(m.lv.mustVirsh(t, "list", "--name"))
	for _, g := range m.guests {
		if !slices.Contains(running, g.dom) {
			t.Errorf("domain %s not running after the libvirtd restart (running: %v)", g.dom, running)
		}
	}
	if after := ports(); !slices.Equal(before, after) {
		t.Errorf("ports before the restart %v, after %v", before, after)
	}
	g := m.guests
	g["a"].waitReach(t, ipB, marks["a"], reach)
	g["b"].waitReach(t, ipA, marks["b"], reach)
	g["c"].waitReach(t, ipA, marks["c"], reach)
	g["x"].waitReach(t, ipT10, marks["x"], reach)
	g["trunk"].waitReach(t, ipY20, marks["trunk"], reach)
	_, runs := m.lv.ovsFailures(logOff)
	t.Logf("libvirtd ran ovs-vsctl %d times while reconnecting", runs)
}

// vlanUpdate puts guest "c" (an <interface type='bridge'> with the Open
// vSwitch virtualport) on VLAN 10 live with virsh update-device, which runs
// ovs-vsctl clear/set on the Port, and back: while tagged, c no longer
// reaches "a" on the untagged LAN. (libvirt 9.0 refuses live VLAN changes on
// type='network' interfaces.)
func (m *mode) vlanUpdate(t *testing.T, e *env) {
	c := m.guests["c"]
	mac := e.mac(m.idx, 3)
	update := func(vlan string, want map[string]string) {
		t.Helper()
		// Start from the live <interface>: it carries what libvirt
		// generated (virtualport interfaceid, target, alias), and any
		// other difference than the VLAN is refused.
		cur := m.liveNIC(t, c.dom, mac)
		if i, j := strings.Index(cur, "<vlan"), strings.LastIndex(cur, "</vlan>"); i >= 0 && j > i {
			cur = cur[:i] + cur[j+len("</vlan>"):]
		}
		end := strings.LastIndex(cur, "</interface>")
		xml := cur[:end] + vlan + cur[end:]
		if _, err := m.lv.virshXML("update-device", xml, c.dom, "--live"); err != nil {
			t.Fatalf("update-device %q: %v\nXML:\n%s\nlibvirtd log:\n%s", vlan, err, xml, m.lv.tail(m.lv.log, 30))
		}
		m.checkPort(t, c, want)
	}
	update("<vlan><tag id='10'/></vlan>", map[string]string{"tag": "10"})
	c.waitUnreachable(t, ipA, c.mark(), 3, reach)
	since := c.mark()
	update("", map[string]string{"tag": "[]", "trunks": "[]", "vlan_mode": "[]"})
	c.waitReach(t, ipA, since, reach)
}

// liveNIC returns the <interface> element of the domain's live XML that has
// mac.
func (m *mode) liveNIC(t *testing.T, dom, mac string) string {
	t.Helper()
	xml := m.lv.mustVirsh(t, "dumpxml", dom)
	rest := xml
	for {
		i := strings.Index(rest, "<interface ")
		if i < 0 {
			t.Fatalf("domain %s has no interface with MAC %s:\n%s", dom, mac, xml)
		}
		rest = rest[i:]
		j := strings.Index(rest, "</interface>")
		if j < 0 {
			t.Fatalf("unterminated <interface> in the XML of %s", dom)
		}
		nic := rest[:j+len("</interface>")]
		if strings.Contains(strings.ToLower(nic), "'"+strings.ToLower(mac)+"'") {
			return nic
		}
		rest = rest[j:]
	}
}
