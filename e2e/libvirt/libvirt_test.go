//go:build linux

package libvirt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env is what every mode shares: binaries, the guest image, the private
// libvirtd state.
type env struct {
	dir   string
	sfx   string // random suffix of names (domains, networks, bridges)
	img   guestImage
	lv    *libvirtd
	build string // built gvswitch commands
}

func randSuffix() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func setup(t *testing.T) *env {
	t.Helper()
	testutil.RequireRoot(t)
	for _, b := range []string{"libvirtd", "virsh", "qemu-system-x86_64", "ip", "mount", "ovs-vsctl"} {
		testutil.RequireBinary(t, b)
	}
	_, err := os.Stat("/dev/net/tun")
	testutil.Require(t, err == nil, "/dev/net/tun: %v", err)
	dir, err := os.MkdirTemp("", "gvs-lv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("GVS_LIBVIRT_KEEP") == "" {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("state kept in %s", dir)
		}
	})
	e := &env{dir: dir, sfx: randSuffix()}
	sweepStale()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	e.img = newGuestImage(t, dir)
	e.lv = newLibvirtd(t, filepath.Join(dir, "lv"))
	t.Cleanup(func() {
		e.lv.cleanup(t)
		if t.Failed() {
			t.Logf("libvirtd log (tail):\n%s\nlibvirtd stderr (tail):\n%s", tailFile(e.lv.log, 60), tailFile(e.lv.stderr, 20))
		}
	})
	return e
}

// ownerFile, in a state directory, holds the pid of the test process.
const ownerFile = "owner.pid"

// sweepStale kills QEMU processes of earlier runs of this test that died
// without cleaning up (e.g. killed by go test -timeout): their guests boot
// from an initramfs in a /tmp/gvs-lv-* directory whose owner is gone.
func sweepStale() {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("qemu-system")) {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			dir, ok := strings.CutSuffix(arg, "/initrd.cpio")
			if !ok || !strings.HasPrefix(dir, filepath.Join(os.TempDir(), "gvs-lv-")) {
				continue
			}
			owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
			if err == nil {
				if pid, err := strconv.Atoi(string(owner)); err == nil && syscall.Kill(pid, 0) == nil {
					continue // a live test owns it
				}
			}
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// goBuild builds ./cmd/NAME of this module into e.build.
func (e *env) goBuild(name string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	if e.build == "" {
		e.build = filepath.Join(e.dir, "bin")
	}
	out := filepath.Join(e.build, name)
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/"+name)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, b)
	}
	return out, nil
}

func ipLink(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"link"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip link %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// mac returns a locally administered unicast MAC unique to this run.
func (e *env) mac(mode, n int) string {
	return fmt.Sprintf("52:54:%s:%s:%02x:%02x", e.sfx[:2], e.sfx[2:], mode, n)
}

// knownBlocked lists the scenarios (mode/scenario) that do not pass yet and
// why. They are left out of the default run; GVS_LIBVIRT_ALL=1 runs them.
var knownBlocked = map[string]string{
	// Empty: every scenario passes in both modes. An entry looks like
	//   "gvsctl/stop-all": "gvsctl: concurrent del-port loses updates",
	// and "MODE/concurrent-start" makes that mode start its guests one at
	// a time.
}

func runAll() bool { return os.Getenv("GVS_LIBVIRT_ALL") != "" }

// TestLibvirt runs, one after the other: the Linux bridge baseline, then
// every Open vSwitch scenario with Debian's ovs-vsctl as libvirt's
// ovs-vsctl, then again with gvsctl as libvirt's ovs-vsctl. The switch is
// gvswitchd in both.
func TestLibvirt(t *testing.T) {
	e := setup(t)
	t.Run("linux-bridge", func(t *testing.T) { e.linuxBridge(t) })
	gvswitchd, err := e.goBuild("gvswitchd")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ovs-vsctl", func(t *testing.T) {
		vsctl, err := testutil.LookBinary("ovs-vsctl")
		testutil.Require(t, err == nil, "Debian's ovs-vsctl (openvswitch-switch): %v", err)
		e.ovsMode(t, &mode{name: "ovs-vsctl", idx: 1, path: defaultPath, vsctl: vsctl, gvswitchd: gvswitchd})
	})
	t.Run("gvsctl", func(t *testing.T) {
		m := &mode{name: "gvsctl", idx: 2, gvswitchd: gvswitchd}
		if why, ok := knownBlocked["gvsctl/*"]; ok && !runAll() {
			t.Logf("gvsctl mode is not in the default run (blocked on %s); GVS_LIBVIRT_ALL=1 runs it", why)
			return
		}
		gvsctl, err := e.goBuild("gvsctl")
		if err != nil {
			t.Fatal(err)
		}
		// libvirt runs "ovs-vsctl" from its PATH. The repository's
		// "make install-ovs-links" refuses on hosts where Open vSwitch is
		// installed (as on this one, for the reference clients), so the
		// test installs gvsctl as ovs-vsctl in a directory of its own put
		// first on libvirtd's PATH.
		bin := filepath.Join(e.dir, "gvsctl-path")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		m.vsctl = filepath.Join(bin, "ovs-vsctl")
		if err := os.Symlink(gvsctl, m.vsctl); err != nil {
			t.Fatal(err)
		}
		m.path = bin + ":" + defaultPath
		e.ovsMode(t, m)
	})
}

// linuxBridge is the baseline: libvirt + Linux bridge, no Open vSwitch. It
// proves the guests, consoles and the private libvirtd work.
func (e *env) linuxBridge(t *testing.T) {
	br := "gvslb" + e.sfx
	ipLink(t, "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	ipLink(t, "set", br, "up")
	e.lv.start(t, defaultPath)
	t.Cleanup(func() { e.lv.cleanup(t) })
	dir := filepath.Join(e.dir, "linux-bridge")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gs := startGuests(t, e.lv, e.img, dir, "gvs"+e.sfx+"-lb", 2, []guestSpec{
		{role: "a", ips: []string{"10.0.0.1/24"}, pings: []string{"10.0.0.2"}, nics: []string{bridgeNIC(br, e.mac(0, 1), false, "")}},
		{role: "b", ips: []string{"10.0.0.2/24"}, pings: []string{"10.0.0.1"}, nics: []string{bridgeNIC(br, e.mac(0, 2), false, "")}},
	})
	gs["a"].waitReach(t, "10.0.0.2", 0, 60*time.Second)
	gs["b"].waitReach(t, "10.0.0.1", 0, 60*time.Second)
}

// mode is one run of the Open vSwitch scenarios.
type mode struct {
	name      string
	idx       int    // MAC address byte
	path      string // libvirtd's PATH
	vsctl     string // the ovs-vsctl found first on path
	gvswitchd string

	br, net string
	sw      *gvswitchd
	lv      *libvirtd
	guests  map[string]*guest
}

// blocked reports why scenario name of this mode is left out of the default
// run, if it is.
func (m *mode) blocked(name string) (string, bool) {
	why, ok := knownBlocked[m.name+"/"+name]
	return why, ok && !runAll()
}

// scenario runs f as subtest name unless it is known not to pass yet.
func (m *mode) scenario(t *testing.T, name string, f func(t *testing.T)) {
	if why, ok := m.blocked(name); ok {
		t.Logf("%s/%s is not in the default run (blocked on %s); GVS_LIBVIRT_ALL=1 runs it", m.name, name, why)
		return
	}
	t.Run(name, f)
}

// Guest addresses. Untagged LAN 10.0.0.0/24, VLAN 10 10.0.10.0/24, VLAN 20
// 10.0.20.0/24. "y" also has 10.0.10.3 although it is on VLAN 20: "x"
// (VLAN 10) must not reach it.
const (
	ipA, ipB, ipC, ipH = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"
	ipT10, ipT20       = "10.0.10.1", "10.0.20.1"
	ipX, ipY20, ipY10  = "10.0.10.2", "10.0.20.3", "10.0.10.3"
)

func (e *env) ovsMode(t *testing.T, m *mode) {
	m.br = "gvsbr" + e.sfx
	m.lv = e.lv
	m.net = "gvs" + e.sfx + "-" + m.name
	dir := filepath.Join(e.dir, m.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.sw = startGvswitchd(t, m.gvswitchd, e.lv.ovsRunDir(), dir)
	m.sw.mustVsctl(t, "--", "init", "--", "add-br", m.br)
	testutil.Eventually(t, 20*time.Second, 50*time.Millisecond, func() bool {
		_, err := os.Stat("/sys/class/net/" + m.br)
		return err == nil
	}, "gvswitchd did not create the bridge-local netdev %s", m.br)

	// The ovs-vsctl that libvirtd will run is the one this mode is about.
	if got := lookPathIn(m.path, "ovs-vsctl"); !sameFile(got, m.vsctl) {
		t.Fatalf("ovs-vsctl on libvirtd's PATH %s is %q, want %s", m.path, got, m.vsctl)
	}
	logOff := e.lv.logSize()
	e.lv.start(t, m.path)
	t.Cleanup(func() { e.lv.cleanup(t) })
	e.lv.mustVirsh(t, "net-create", writeFile(t, dir, "net.xml", ovsNetworkXML(m.net, m.br)))

	vlan := func(inner string) string { return "<vlan" + inner + "</vlan>" }
	nic := func(n int, inner string) []string { return []string{netNIC(m.net, e.mac(m.idx, n), inner)} }
	start := time.Now()
	width := 3 // guests started at once
	if why, ok := m.blocked("concurrent-start"); ok {
		t.Logf("starting guests one at a time: %s", why)
		width = 1
	}
	m.guests = startGuests(t, e.lv, e.img, dir, "gvs"+e.sfx+"-"+m.name, width, []guestSpec{
		{role: "a", ips: []string{ipA + "/24"}, pings: []string{ipB, ipC, ipH}, nics: nic(1, "")},
		// b's virtualport adds a profileid to the network's: libvirt's
		// add-port then also sets port-profile and ifname.
		{role: "b", ips: []string{ipB + "/24"}, pings: []string{ipA},
			nics: nic(2, "<virtualport type='openvswitch'><parameters profileid='gvs-profile'/></virtualport>")},
		{role: "c", ips: []string{ipC + "/24"}, pings: []string{ipA}, nics: []string{bridgeNIC(m.br, e.mac(m.idx, 3), true, "")}},
		{role: "h", ips: []string{ipH + "/24"}, pings: []string{ipA}},
		{role: "trunk", vlans: []string{"10:" + ipT10 + "/24", "20:" + ipT20 + "/24"}, pings: []string{ipX, ipY20},
			nics: nic(5, vlan(" trunk='yes'><tag id='10'/><tag id='20'/>"))},
		{role: "x", ips: []string{ipX + "/24"}, pings: []string{ipT10, ipY10}, nics: nic(6, vlan("><tag id='10'/>"))},
		{role: "y", ips: []string{ipY20 + "/24", ipY10 + "/24"}, pings: []string{ipT20, ipX}, nics: nic(7, vlan("><tag id='20'/>"))},
		{role: "nu", ips: []string{"10.0.10.5/24"}, vlans: []string{"20:10.0.20.5/24"}, pings: []string{ipX, ipY20},
			nics: nic(8, vlan(" trunk='yes'><tag id='10' nativeMode='untagged'/><tag id='20'/>"))},
		{role: "nt", vlans: []string{"10:10.0.10.6/24", "20:10.0.20.6/24"}, pings: []string{ipX, ipY20},
			nics: nic(9, vlan(" trunk='yes'><tag id='10' nativeMode='tagged'/><tag id='20'/>"))},
	})
	t.Logf("%d guests booted in %v", len(m.guests), time.Since(start).Round(time.Millisecond))
	g := m.guests

	m.scenario(t, "network", func(t *testing.T) {
		g["a"].waitReach(t, ipB, 0, reach)
		g["b"].waitReach(t, ipA, 0, reach)
		for _, r := range []string{"a", "b"} {
			port := m.port(t, g[r])
			ids := m.sw.mustVsctl(t, "get", "Interface", port, "external_ids")
			wants := []string{"attached-mac=", "iface-id=", "vm-id=", "iface-status=active"}
			if r == "b" {
				wants = append(wants, "port-profile=gvs-profile", "ifname="+port)
			}
			for _, want := range wants {
				if !strings.Contains(ids, want) {
					t.Errorf("Interface %s external_ids %s lack %s", port, strings.TrimSpace(ids), want)
				}
			}
		}
	})
	m.scenario(t, "bridge-interface", func(t *testing.T) {
		g["c"].waitReach(t, ipA, 0, reach)
		g["a"].waitReach(t, ipC, 0, reach)
	})
	m.scenario(t, "vlan-access", func(t *testing.T) {
		g["x"].waitReach(t, ipT10, 0, reach)
		g["y"].waitReach(t, ipT20, 0, reach)
		mx, my := g["x"].mark(), g["y"].mark()
		g["x"].waitIsolated(t, ipY10, mx, 3, reach)
		g["y"].waitIsolated(t, ipX, my, 3, reach)
		m.checkPort(t, g["x"], map[string]string{"tag": "10", "trunks": "[]", "vlan_mode": "[]"})
		m.checkPort(t, g["y"], map[string]string{"tag": "20", "trunks": "[]", "vlan_mode": "[]"})
	})
	m.scenario(t, "vlan-update", func(t *testing.T) { m.vlanUpdate(t, e) })
	m.scenario(t, "vlan-trunk", func(t *testing.T) {
		g["trunk"].waitReach(t, ipX, 0, reach)
		g["trunk"].waitReach(t, ipY20, 0, reach)
		m.checkPort(t, g["trunk"], map[string]string{"tag": "[]", "trunks": "[10, 20]", "vlan_mode": "[]"})
	})
	m.scenario(t, "vlan-native-untagged", func(t *testing.T) {
		g["nu"].waitReach(t, ipX, 0, reach)
		g["nu"].waitReach(t, ipY20, 0, reach)
		m.checkPort(t, g["nu"], map[string]string{"tag": "10", "trunks": "[10, 20]", "vlan_mode": "native-untagged"})
	})
	m.scenario(t, "vlan-native-tagged", func(t *testing.T) {
		g["nt"].waitReach(t, ipX, 0, reach)
		g["nt"].waitReach(t, ipY20, 0, reach)
		m.checkPort(t, g["nt"], map[string]string{"tag": "10", "trunks": "[10, 20]", "vlan_mode": "native-tagged"})
	})
	m.scenario(t, "hotplug", func(t *testing.T) { m.hotplug(t, e) })
	m.scenario(t, "bandwidth", func(t *testing.T) { m.bandwidth(t, e) })
	m.scenario(t, "libvirtd-restart", func(t *testing.T) { m.restart(t, e) })
	m.scenario(t, "stop", func(t *testing.T) {
		b := g["b"]
		port := m.port(t, b)
		since := g["a"].mark()
		e.lv.mustVirsh(t, "destroy", b.dom)
		m.waitPort(t, port, false)
		g["a"].waitUnreachable(t, ipB, since, 3, reach)
	})
	m.scenario(t, "stop-all", func(t *testing.T) {
		var doms []string
		for _, gu := range m.guests {
			if st, err := e.lv.virsh("domstate", gu.dom); err == nil && strings.TrimSpace(st) == "running" {
				doms = append(doms, gu.dom)
			}
		}
		if err := destroyGuests(e.lv, doms); err != nil {
			t.Fatal(err)
		}
		testutil.EventuallyOK(t, 30*time.Second, 100*time.Millisecond, func() error {
			out, err := m.sw.vsctl("list-ports", m.br)
			if err != nil {
				return err
			}
			if s := strings.TrimSpace(out); s != "" {
				return fmt.Errorf("ports left on %s: %s", m.br, strings.Join(strings.Fields(s), " "))
			}
			return nil
		}, "ports of the %d guests stopped together removed", len(doms))
	})
	m.scenario(t, "libvirtd-log", func(t *testing.T) {
		bad, runs := e.lv.ovsFailures(logOff)
		t.Logf("libvirtd ran ovs-vsctl %d times", runs)
		if runs == 0 {
			t.Errorf("libvirtd log shows no ovs-vsctl run: is util.command logging on?")
		}
		if len(bad) > 0 {
			t.Errorf("libvirtd log reports OVS failures:\n%s", strings.Join(bad, "\n"))
		}
	})
}

// lookPathIn finds an executable like exec.LookPath with PATH=path.
func lookPathIn(path, name string) string {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func writeFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// nics returns a domain's live interfaces as target device -> MAC.
func (m *mode) nics(t *testing.T, l *libvirtd, dom string) map[string]string {
	t.Helper()
	out := l.mustVirsh(t, "domiflist", dom)
	r := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 {
			r[f[0]] = f[len(f)-1]
		}
	}
	return r
}

// port returns the switch port (TAP name) of a guest with one NIC.
func (m *mode) port(t *testing.T, g *guest) string {
	t.Helper()
	var names []string
	for name := range m.nics(t, m.lv, g.dom) {
		names = append(names, name)
	}
	if len(names) != 1 {
		t.Fatalf("guest %s has NICs %v, want one", g.dom, names)
	}
	return names[0]
}

// checkPort compares Port columns of a guest's port with want.
func (m *mode) checkPort(t *testing.T, g *guest, want map[string]string) {
	t.Helper()
	port := m.port(t, g)
	for col, w := range want {
		got := strings.TrimSpace(m.sw.mustVsctl(t, "get", "Port", port, col))
		if got != w {
			t.Errorf("Port %s (guest %s) %s = %s, want %s", port, g.role, col, got, w)
		}
	}
}

// hasPort reports whether name is a port of the bridge.
func (m *mode) hasPort(name string) (bool, error) {
	out, err := m.sw.vsctl("list-ports", m.br)
	if err != nil {
		return false, err
	}
	for _, p := range strings.Fields(out) {
		if p == name {
			return true, nil
		}
	}
	return false, nil
}
