//go:build linux

package libvirt

import (
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// guestSpec is one guest: what its /init configures and pings, and its NICs
// (libvirt <interface> elements; none for a guest that gets one by hot-plug).
type guestSpec struct {
	role  string   // short name: "a", "trunk", ...
	ips   []string // on eth0
	vlans []string // "VID:ADDR/N" sub-interfaces of eth0
	pings []string
	nics  []string
}

func (s guestSpec) cmdline() string {
	// no_timer_check: on a busy host the emulated (TCG) CPU is too slow for
	// the kernel's IO-APIC timer check, which then panics.
	c := []string{"console=ttyS0", "panic=-1", "no_timer_check", "gvs.ping=" + strings.Join(s.pings, ",")}
	if len(s.ips) > 0 {
		c = append(c, "gvs.ip="+strings.Join(s.ips, ","))
	}
	if len(s.vlans) > 0 {
		c = append(c, "gvs.vlan="+strings.Join(s.vlans, ","))
	}
	return strings.Join(c, " ")
}

// guest is a running domain.
type guest struct {
	guestSpec
	dom     string // libvirt domain name
	console string // serial console file
}

func x(s string) string { return html.EscapeString(s) }

// domainXML is a tiny TCG guest: kernel + initramfs, serial console to a
// file, no disk, no graphics, no balloon, no USB.
func domainXML(name string, img guestImage, s guestSpec, console string) string {
	return fmt.Sprintf(`<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>96</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%s</kernel>
    <initrd>%s</initrd>
    <cmdline>%s</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
%s
    <serial type='file'>
      <source path='%s'/>
      <target port='0'/>
    </serial>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
`, x(name), x(img.Kernel), x(img.Initrd), x(s.cmdline()), strings.Join(s.nics, "\n"), x(console))
}

// netNIC is an <interface type='network'> on network net; inner is extra XML
// (<vlan>, <bandwidth>...).
func netNIC(net, mac, inner string) string {
	return fmt.Sprintf(`    <interface type='network'>
      <source network='%s'/>
      <mac address='%s'/>
      <model type='virtio'/>
      <rom enabled='no'/>
      %s
    </interface>`, x(net), mac, inner)
}

// bridgeNIC is an <interface type='bridge'> on br, with the Open vSwitch
// virtualport when ovs is set; inner is extra XML.
func bridgeNIC(br, mac string, ovs bool, inner string) string {
	vp := ""
	if ovs {
		vp = "<virtualport type='openvswitch'/>"
	}
	return fmt.Sprintf(`    <interface type='bridge'>
      <source bridge='%s'/>
      %s
      <mac address='%s'/>
      <model type='virtio'/>
      <rom enabled='no'/>
      %s
    </interface>`, x(br), vp, mac, inner)
}

// ovsNetworkXML is the libvirt network of the README: an existing Open
// vSwitch bridge, used through <virtualport type='openvswitch'/>.
func ovsNetworkXML(name, br string) string {
	return fmt.Sprintf(`<network>
  <name>%s</name>
  <forward mode='bridge'/>
  <bridge name='%s'/>
  <virtualport type='openvswitch'/>
</network>
`, x(name), x(br))
}

// startGuests creates the transient domains, width at a time, and waits
// until every guest's /init runs.
func startGuests(t *testing.T, l *libvirtd, img guestImage, dir, prefix string, width int, specs []guestSpec) map[string]*guest {
	t.Helper()
	gs := map[string]*guest{}
	var list []*guest
	for _, s := range specs {
		g := &guest{guestSpec: s, dom: prefix + "-" + s.role, console: fmt.Sprintf("%s/%s.console", dir, s.role)}
		gs[s.role] = g
		list = append(list, g)
	}
	errs := parallel(len(list), width, func(i int) error {
		g := list[i]
		if _, err := l.virshXML("create", domainXML(g.dom, img, g.guestSpec, g.console)); err != nil {
			return fmt.Errorf("start guest %s: %w", g.dom, err)
		}
		return nil
	})
	if errs != nil {
		t.Fatalf("%v\nlibvirtd log:\n%s", errs, l.tail(l.log, 40))
	}
	for _, g := range list {
		if !testutil.Poll(180*time.Second, 200*time.Millisecond, func() bool {
			c := g.read(0)
			return strings.Contains(c, "GVS BOOTED") || strings.Contains(c, "Kernel panic")
		}) || !strings.Contains(g.read(0), "GVS BOOTED") {
			state, err := l.virsh("domstate", "--reason", g.dom)
			t.Fatalf("guest %s did not boot (domstate: %s %v); console:\n%s\nqemu log:\n%s",
				g.dom, strings.TrimSpace(state), err, g, tailFile(filepath.Join(l.dir, "log", "qemu", g.dom+".log"), 20))
		}
	}
	return gs
}

// destroyGuests destroys domains, a few at a time.
func destroyGuests(l *libvirtd, doms []string) error {
	return parallel(len(doms), 4, func(i int) error {
		_, err := l.virsh("destroy", doms[i])
		return err
	})
}

// parallel runs f(0..n-1) with at most width calls at a time and joins
// their errors.
func parallel(n, width int, f func(i int) error) error {
	sem := make(chan struct{}, width)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// read returns the console output from byte offset off on.
func (g *guest) read(off int) string {
	b, err := os.ReadFile(g.console)
	if err != nil || off > len(b) {
		return ""
	}
	return string(b[off:])
}

// mark is the console's current length, for "results after this point".
func (g *guest) mark() int { return len(g.read(0)) }

// String is the console's tail, for failure messages.
func (g *guest) String() string {
	lines := strings.Split(strings.TrimRight(g.read(0), "\n"), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

// waitReach waits until the guest reports a successful ping of ip after
// console offset since.
func (g *guest) waitReach(t *testing.T, ip string, since int, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, 250*time.Millisecond, func() bool {
		r := pingResults(g.read(since))[ip]
		return len(r) > 0 && r[len(r)-1]
	}, "guest %s (%s) never reached %s; console:\n%s", g.role, g.dom, ip, g)
}

// waitIsolated waits for n failed pings of ip after console offset since,
// and fails if any ping of ip ever succeeded.
func (g *guest) waitIsolated(t *testing.T, ip string, since, n int, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, 250*time.Millisecond, func() bool {
		for _, ok := range pingResults(g.read(0))[ip] {
			if ok {
				t.Fatalf("guest %s (%s) reached %s, which must be isolated from it; console:\n%s", g.role, g.dom, ip, g)
			}
		}
		return len(pingResults(g.read(since))[ip]) >= n
	}, "guest %s (%s): no %d failed pings of %s; console:\n%s", g.role, g.dom, n, ip, g)
}

// waitUnreachable waits until the last n pings of ip after since failed
// (after an unplug, earlier ones may still have succeeded).
func (g *guest) waitUnreachable(t *testing.T, ip string, since, n int, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, 250*time.Millisecond, func() bool {
		r := pingResults(g.read(since))[ip]
		if len(r) < n {
			return false
		}
		for _, ok := range r[len(r)-n:] {
			if ok {
				return false
			}
		}
		return true
	}, "guest %s (%s) still reaches %s; console:\n%s", g.role, g.dom, ip, g)
}
