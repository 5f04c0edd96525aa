package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Names of the systems under test.
const (
	SysDirect    = "direct"    // two hosts on one veth pair: the generator's ceiling
	SysBridge    = "bridge"    // Linux bridge
	SysGvswitchd = "gvswitchd" // gvswitchd, AF_PACKET system ports
	SysOVS       = "ovs"       // Open vSwitch 3.1 userspace (netdev) datapath, system ports, userspace TSO on
	SysOVSAFXDP  = "ovs-afxdp" // the same with afxdp ports
	// SysOVSDefault is Open vSwitch 3.1's userspace datapath with its default
	// settings (no userspace-tso-enable): the configuration the issue's
	// reference numbers describe, in which TCP from hosts with the default
	// checksum offload does not pass.
	SysOVSDefault = "ovs-default"
)

// bridgeName is the bridge every switch builds in its own namespace.
const bridgeName = "br0"

// errSkip marks a system that cannot run here (missing binaries).
var errSkip = errors.New("skipped")

// system is one switch under test, started privately per topology.
type system interface {
	name() string
	version() string
	// check reports (wrapping errSkip) why the system cannot run here.
	check() error
	direct() bool
	// start starts the daemons in dir and plugs every host of t into bridge br0.
	start(ctx context.Context, t *topo, dir string) error
	// pid is the switch process, for CPU accounting; 0 when there is none.
	pid() int
	stop()
}

// controller is a system with a control plane to time.
type controller interface {
	addBridge(ctx context.Context, br string) error
	addPorts(ctx context.Context, br string, ports []string) error
	delBridge(ctx context.Context, br string) error
}

func lookBinary(name string, extra ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range append(extra, "/usr/sbin", "/sbin") {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: %w", name, errSkip)
}

// firstLine is the first line of a command's output (some tools print their
// version and exit non-zero).
func firstLine(ctx context.Context, name string, args ...string) string {
	out, _ := run(ctx, name, args...)
	l, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return l
}

// directSys is no switch at all.
type directSys struct{}

func (directSys) name() string                               { return SysDirect }
func (directSys) version() string                            { return "veth pair" }
func (directSys) check() error                               { return nil }
func (directSys) direct() bool                               { return true }
func (directSys) start(context.Context, *topo, string) error { return nil }
func (directSys) pid() int                                   { return 0 }
func (directSys) stop()                                      {}

// bridgeSys is a Linux bridge in the switch namespace.
type bridgeSys struct{ sw netNS }

func (*bridgeSys) name() string { return SysBridge }
func (*bridgeSys) version() string {
	return "Linux " + firstLine(context.Background(), "uname", "-r")
}
func (*bridgeSys) check() error { return nil }
func (*bridgeSys) direct() bool { return false }
func (*bridgeSys) pid() int     { return 0 }
func (*bridgeSys) stop()        {}

func (b *bridgeSys) start(ctx context.Context, t *topo, _ string) error {
	b.sw = t.sw
	if err := b.addBridge(ctx, bridgeName); err != nil {
		return err
	}
	var ports []string
	for _, h := range t.hosts {
		ports = append(ports, h.swIf)
	}
	if err := b.addPorts(ctx, bridgeName, ports); err != nil {
		return err
	}
	return t.sw.waitOperUp(ctx, bridgeName, linkTimeout)
}

func (b *bridgeSys) addBridge(ctx context.Context, br string) error {
	return b.sw.ipBatch(ctx, []string{"link add " + br + " type bridge", "link set " + br + " up"})
}

func (b *bridgeSys) addPorts(ctx context.Context, br string, ports []string) error {
	var lines []string
	for _, p := range ports {
		lines = append(lines, "link set "+p+" master "+br)
	}
	return b.sw.ipBatch(ctx, lines)
}

func (b *bridgeSys) delBridge(ctx context.Context, br string) error {
	_, err := b.sw.ip(ctx, "link", "del", br)
	return err
}

// vsctl runs Debian's ovs-vsctl against a private database.
type vsctl struct {
	bin, dir string
}

// run runs ovs-vsctl with --timeout (whole seconds), shortened to ctx's deadline.
func (v vsctl) run(ctx context.Context, timeout time.Duration, args ...string) error {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), time.Second)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	all := append([]string{"--db=unix:" + filepath.Join(v.dir, "db.sock"), fmt.Sprintf("--timeout=%d", int(timeout.Seconds()))}, args...)
	c := exec.CommandContext(ctx, v.bin, all...)
	c.Env = append(os.Environ(), "OVS_RUNDIR="+v.dir, "OVS_DBDIR="+v.dir, "OVS_LOGDIR="+v.dir)
	_, err := runCmd(c)
	return err
}

// portArgs is "-- add-port br p [-- set interface p type=T]" for each port.
func portArgs(br string, ports []string, ifType string) []string {
	var a []string
	for _, p := range ports {
		a = append(a, "--", "add-port", br, p)
		if ifType != "" {
			a = append(a, "--", "set", "interface", p, "type="+ifType)
		}
	}
	return a
}

// waitSocket polls until path exists (and the process still runs).
func waitSocket(ctx context.Context, p *proc, path string, timeout time.Duration, logPath string) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(logPath)
			if len(log) > 1500 {
				log = log[len(log)-1500:]
			}
			return fmt.Errorf("%s did not appear (exited=%v): %s: %w", path, p.exited(), log, errors.Join(ctx.Err(), os.ErrNotExist))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gvsSys is gvswitchd with its embedded OVSDB, in the switch namespace.
type gvsSys struct {
	bin     string
	sysName string // "" for SysGvswitchd; "gvswitchd-LABEL" for Config.GvswitchdAlt
	vs      vsctl
	p       *proc
}

func (g *gvsSys) name() string {
	if g.sysName != "" {
		return g.sysName
	}
	return SysGvswitchd
}
func (g *gvsSys) version() string {
	if g.sysName != "" {
		return "gvswitchd " + g.bin
	}
	v := firstLine(context.Background(), "git", "describe", "--always", "--dirty")
	if v == "" {
		return "gvswitchd"
	}
	return "gvswitchd " + v
}
func (g *gvsSys) check() error {
	if g.bin == "" {
		return fmt.Errorf("gvswitchd binary not found (build it: make build, or pass -gvswitchd): %w", errSkip)
	}
	if _, err := os.Stat(g.bin); err != nil {
		return fmt.Errorf("gvswitchd %s: %w: %w", g.bin, err, errSkip)
	}
	vs, err := lookBinary("ovs-vsctl")
	g.vs.bin = vs
	return err
}
func (*gvsSys) direct() bool { return false }
func (g *gvsSys) pid() int {
	if g.p == nil {
		return 0
	}
	return g.p.pid()
}

func (g *gvsSys) start(ctx context.Context, t *topo, dir string) error {
	g.vs.dir = dir
	c := t.sw.cmd(context.Background(), g.bin, "--log-file="+filepath.Join(dir, "gvswitchd.log"))
	c.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	out := filepath.Join(dir, "gvswitchd.out")
	p, err := startProc(c, out)
	if err != nil {
		return err
	}
	g.p = p
	if err := waitSocket(ctx, p, filepath.Join(dir, "db.sock"), 20*time.Second, out); err != nil {
		return err
	}
	if err := waitSocket(ctx, p, filepath.Join(dir, "ovs-vswitchd.pid"), 20*time.Second, out); err != nil {
		return err
	}
	if err := g.addBridge(ctx, bridgeName); err != nil {
		return err
	}
	var ports []string
	for _, h := range t.hosts {
		ports = append(ports, h.swIf)
	}
	return g.addPorts(ctx, bridgeName, ports)
}

func (g *gvsSys) addBridge(ctx context.Context, br string) error {
	return g.vs.run(ctx, 30*time.Second, "add-br", br)
}
func (g *gvsSys) addPorts(ctx context.Context, br string, ports []string) error {
	return g.vs.run(ctx, 300*time.Second, portArgs(br, ports, "")...)
}
func (g *gvsSys) delBridge(ctx context.Context, br string) error {
	return g.vs.run(ctx, 300*time.Second, "del-br", br)
}
func (g *gvsSys) stop() { g.p.stop(syscall.SIGTERM, 5*time.Second); g.p = nil }

// ovsSys is Debian's ovsdb-server and ovs-vswitchd with datapath_type=netdev,
// private to dir; ovs-vswitchd runs in the switch namespace.
type ovsSys struct {
	sysName, ifType                string
	defaults                       bool // leave other_config alone (no userspace TSO)
	vswitchd, server, tool, schema string
	vs                             vsctl
	db, vsd                        *proc
}

func (o *ovsSys) name() string { return o.sysName }
func (o *ovsSys) version() string {
	return firstLine(context.Background(), o.vswitchd, "--version")
}
func (o *ovsSys) check() error {
	var errs []error
	var err error
	o.vswitchd, err = lookBinary("ovs-vswitchd", "/usr/lib/openvswitch-switch")
	errs = append(errs, err)
	if err == nil {
		// A host without Open vSwitch may have ovs-vswitchd linked to gvswitchd.
		if v := o.version(); !strings.Contains(v, "Open vSwitch") || strings.Contains(v, "gvswitchd") {
			errs = append(errs, fmt.Errorf("%s is not Open vSwitch (%q): %w", o.vswitchd, v, errSkip))
		}
		if p := "/usr/lib/openvswitch-switch/ovs-vswitchd"; fileExists(p) {
			o.vswitchd = p
		}
	}
	o.server, err = lookBinary("ovsdb-server")
	errs = append(errs, err)
	o.tool, err = lookBinary("ovsdb-tool")
	errs = append(errs, err)
	o.vs.bin, err = lookBinary("ovs-vsctl")
	errs = append(errs, err)
	o.schema = "/usr/share/openvswitch/vswitch.ovsschema"
	if !fileExists(o.schema) {
		errs = append(errs, fmt.Errorf("%s missing: %w", o.schema, errSkip))
	}
	return errors.Join(errs...)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (*ovsSys) direct() bool { return false }
func (o *ovsSys) pid() int {
	if o.vsd == nil {
		return 0
	}
	return o.vsd.pid()
}

func (o *ovsSys) start(ctx context.Context, t *topo, dir string) error {
	o.vs.dir = dir
	db := filepath.Join(dir, "conf.db")
	if _, err := run(ctx, o.tool, "create", db, o.schema); err != nil {
		return err
	}
	env := append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	c := exec.Command(o.server, db, "--remote=punix:"+filepath.Join(dir, "db.sock"),
		"--pidfile="+filepath.Join(dir, "ovsdb-server.pid"), "--unixctl="+filepath.Join(dir, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log"), "-vconsole:off")
	c.Env = env
	var err error
	if o.db, err = startProc(c, filepath.Join(dir, "ovsdb-server.out")); err != nil {
		return err
	}
	if err := waitSocket(ctx, o.db, filepath.Join(dir, "db.sock"), 20*time.Second, filepath.Join(dir, "ovsdb-server.log")); err != nil {
		return err
	}
	// userspace-tso-enable is read once at start-up: it turns on virtio-net headers
	// on system ports, without which TCP/UDP from veths with checksum offload (the
	// default) arrive with partial checksums that OVS forwards unfixed. It is OVS's
	// recommended setting for this path (datapath-performance.md 1f).
	initArgs := []string{"--no-wait", "init"}
	if !o.defaults {
		initArgs = append(initArgs, "--", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true")
	}
	if err := o.vs.run(ctx, 10*time.Second, initArgs...); err != nil {
		return err
	}
	c = t.sw.cmd(context.Background(), o.vswitchd, "unix:"+filepath.Join(dir, "db.sock"),
		"--pidfile="+filepath.Join(dir, "ovs-vswitchd.pid"), "--unixctl="+filepath.Join(dir, "ovs-vswitchd.ctl"),
		"--log-file="+filepath.Join(dir, "ovs-vswitchd.log"), "-vconsole:off")
	c.Env = env
	if o.vsd, err = startProc(c, filepath.Join(dir, "ovs-vswitchd.out")); err != nil {
		return err
	}
	if err := waitSocket(ctx, o.vsd, filepath.Join(dir, "ovs-vswitchd.ctl"), 20*time.Second, filepath.Join(dir, "ovs-vswitchd.log")); err != nil {
		return err
	}
	if err := o.addBridge(ctx, bridgeName); err != nil {
		return err
	}
	var ports []string
	for _, h := range t.hosts {
		ports = append(ports, h.swIf)
	}
	if err := o.addPorts(ctx, bridgeName, ports); err != nil {
		return err
	}
	if o.ifType != "" {
		return o.checkIfaceErrors(ctx, ports)
	}
	return nil
}

// checkIfaceErrors fails when OVS could not open a port (e.g. afxdp unsupported).
func (o *ovsSys) checkIfaceErrors(ctx context.Context, ports []string) error {
	for _, p := range ports {
		c := exec.CommandContext(ctx, o.vs.bin, "--db=unix:"+filepath.Join(o.vs.dir, "db.sock"), "--no-wait", "get", "interface", p, "error")
		out, err := runCmd(c)
		if err != nil {
			return err
		}
		if s := strings.TrimSpace(out); s != "[]" && s != "" {
			return fmt.Errorf("interface %s: %s", p, s)
		}
	}
	return nil
}

func (o *ovsSys) addBridge(ctx context.Context, br string) error {
	return o.vs.run(ctx, 30*time.Second, "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev")
}
func (o *ovsSys) addPorts(ctx context.Context, br string, ports []string) error {
	return o.vs.run(ctx, 300*time.Second, portArgs(br, ports, o.ifType)...)
}
func (o *ovsSys) delBridge(ctx context.Context, br string) error {
	return o.vs.run(ctx, 300*time.Second, "del-br", br)
}
func (o *ovsSys) stop() {
	o.vsd.stop(syscall.SIGTERM, 5*time.Second)
	o.db.stop(syscall.SIGTERM, 5*time.Second)
	o.vsd, o.db = nil, nil
}

// tcpMayFail reports that TCP with the hosts' default offloads is expected
// not to pass: OVS without userspace TSO forwards checksum-partial frames
// unfixed, and the receiver drops them.
func (o *ovsSys) tcpMayFail() bool { return o.defaults }

func (g *gvsSys) procExited() bool { return g.p != nil && g.p.exited() }
func (o *ovsSys) procExited() bool {
	return (o.vsd != nil && o.vsd.exited()) || (o.db != nil && o.db.exited())
}
