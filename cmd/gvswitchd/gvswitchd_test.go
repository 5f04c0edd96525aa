package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
	"github.com/gvswitch/gvswitch/unixctl"
)

// daemonEnv makes the test binary act as gvswitchd (so restart tests can
// SIGKILL a real separate process).
const daemonEnv = "GVSWITCHD_TEST_AS_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a gvswitchd child process.
type proc struct {
	cmd    *exec.Cmd
	dir    string
	stderr *syncBuffer
	done   chan struct{}
}

func env(dir string) []string {
	return []string{"OVS_RUNDIR=" + dir, "OVS_DBDIR=" + dir, "OVS_LOGDIR=" + dir}
}

// startDaemon runs gvswitchd with OVS_* dirs at dir and waits until its
// vswitchd pidfile is valid (locked by it).
func startDaemon(t testing.TB, dir string, args ...string) *proc {
	t.Helper()
	testutil.RequireRoot(t)
	p := &proc{dir: dir, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], append([]string{"-vbridge:console:dbg", "-vreconnect:console:dbg"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), daemonEnv+"=1"), env(dir)...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if t.Failed() {
			// A goroutine dump shows where a hung daemon waits.
			_ = p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
		}
		p.stop()
		if t.Failed() {
			t.Logf("gvswitchd stderr:\n%s", p.stderr)
		}
	})
	pidfile := filepath.Join(dir, "ovs-vswitchd.pid")
	testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool {
		pid, err := daemon.ReadPidfile(pidfile)
		return err == nil && pid == p.cmd.Process.Pid
	}, "gvswitchd pidfile %s (stderr: %s)", pidfile, p.stderr)
	return p
}

func (p *proc) ctl() string {
	return unixctl.SocketPath(p.dir, "ovs-vswitchd", p.cmd.Process.Pid)
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// dbClient runs Debian's ovs-vsctl against one database socket.
type dbClient struct {
	sock, dir string
}

func (c *dbClient) Vsctl(t testing.TB, args ...string) ovstest.Result {
	t.Helper()
	b := ovstest.FindBinaries(t)
	return ovstest.RunCmd(t, ovstest.Cmd{Bin: b.Vsctl, Args: append([]string{"--db=" + c.sock}, args...), Env: env(c.dir)})
}

func (c *dbClient) Get(t testing.TB, table, record, column string) string {
	t.Helper()
	return strings.TrimSpace(c.Vsctl(t, "--no-wait", "get", table, record, column).Check(t))
}

// vsctl runs ovs-vsctl with libvirt's 5 s timeout and WITHOUT --no-wait.
func vsctl(t testing.TB, s *dbClient, args ...string) ovstest.Result {
	t.Helper()
	r := s.Vsctl(t, append([]string{"--timeout=5"}, args...)...)
	if !r.OK() {
		t.Fatalf("%v", r)
	}
	return r
}

// modes starts gvswitchd with its embedded server or with Debian's
// ovsdb-server (--db=unix:...).
var modes = []struct {
	name  string
	start func(t testing.TB) (*dbClient, *proc)
}{
	{"embedded", startEmbeddedMode},
	{"debian-ovsdb-server", startWithDebianServer},
}

func startEmbeddedMode(t testing.TB) (*dbClient, *proc) {
	t.Helper()
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("", "gvsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := startDaemon(t, dir)
	return &dbClient{sock: "unix:" + filepath.Join(dir, "db.sock"), dir: dir}, p
}

func startWithDebianServer(t testing.TB) (*dbClient, *proc) {
	t.Helper()
	testutil.RequireRoot(t)
	s := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitch.SchemaJSON})
	return &dbClient{sock: s.Sock, dir: s.Dir}, startDaemon(t, s.Dir, "--db="+s.Sock)
}

func TestAddBrAddPort(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testAddBrAddPort(t, m.start) })
	}
}

func testAddBrAddPort(t *testing.T, startFn func(t testing.TB) (*dbClient, *proc)) {
	s, p := startFn(t)
	br := testutil.UniqueLinkName("gvb", "")
	v1 := testutil.NewVethPair(t, testutil.Veth{})
	v2 := testutil.NewVethPair(t, testutil.Veth{Down: true}) // libvirt adds its tap while DOWN

	start := time.Now()
	vsctl(t, s, "add-br", br)
	t.Logf("add-br with wait: %v", time.Since(start))
	if got := s.Get(t, "Interface", br, "ofport"); got != "65534" {
		t.Fatalf("bridge ofport = %s", got)
	}
	start = time.Now()
	r := vsctl(t, s, "add-port", br, v1.Name)
	t.Logf("add-port with wait: %v", time.Since(start))
	if r.Stderr != "" {
		t.Errorf("add-port stderr: %s", r.Stderr)
	}
	if got := s.Get(t, "Interface", v1.Name, "ofport"); got != "1" {
		t.Fatalf("ofport = %s", got)
	}
	if cur, next := s.Get(t, "Open_vSwitch", ".", "cur_cfg"), s.Get(t, "Open_vSwitch", ".", "next_cfg"); cur != next {
		t.Fatalf("cur_cfg %s != next_cfg %s", cur, next)
	}
	if id := s.Get(t, "Open_vSwitch", ".", "external_ids:system-id"); len(id) != 38 {
		t.Errorf("external_ids:system-id = %s", id)
	}

	// libvirt 9.0's exact argv (reference §3.2).
	start = time.Now()
	r = vsctl(t, s, "--", "--may-exist", "add-port", br, v2.Name,
		"--", "set", "Interface", v2.Name, `external-ids:attached-mac="52:54:00:aa:bb:cc"`,
		"--", "set", "Interface", v2.Name, `external-ids:iface-id="4a1e8f5c-3b2d-4c6e-9f7a-1b2c3d4e5f60"`,
		"--", "set", "Interface", v2.Name, `external-ids:vm-id="9c8b7a6f-5e4d-3c2b-1a09-f8e7d6c5b4a3"`,
		"--", "set", "Interface", v2.Name, "external-ids:iface-status=active")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("libvirt add-port took %v", d)
	}
	if r.Stderr != "" {
		t.Errorf("libvirt add-port stderr: %s", r.Stderr)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		return s.Get(t, "Interface", v2.Name, "link_state") == "down"
	}, "link_state of a DOWN tap")
	start = time.Now()
	vsctl(t, s, "--", "--if-exists", "del-port", v2.Name)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("libvirt del-port took %v", d)
	}

	// Debian's ovs-appctl, by socket path and by target name.
	b := ovstest.FindBinaries(t)
	if got := ovstest.Appctl(t, p.ctl(), "version").Check(t); got != "ovs-vswitchd (Open vSwitch) 3.1.0\n" {
		t.Errorf("version = %q", got)
	}
	byName := func(args ...string) ovstest.Result {
		return ovstest.RunCmd(t, ovstest.Cmd{Bin: b.Appctl, Args: append([]string{"-t", "ovs-vswitchd"}, args...), Env: env(p.dir)})
	}
	if got := byName("list-commands").Check(t); !strings.HasPrefix(got, "The available commands are:\n") || !strings.Contains(got, "  fdb/show                bridge\n") {
		t.Errorf("list-commands = %q", got)
	}
	// The bridge's own TAP may already have sent a frame (it is up for a
	// moment when created), so only the layout is checked.
	if got := byName("fdb/show", br).Check(t); !strings.HasPrefix(got, " port  VLAN  MAC                Age\n") {
		t.Errorf("fdb/show = %q", got)
	}
	if r := byName("fdb/show", "nosuchbr"); r.ExitCode != 2 || !strings.HasPrefix(r.Stderr, "no such bridge\n") {
		t.Errorf("fdb/show unknown: %v", r)
	}
	dpif := byName("dpif/show").Check(t)
	for _, want := range []string{"netdev@ovs-netdev: hit:", "  " + br + ":\n", "    " + br + " 65534/", "    " + v1.Name + " 1/"} {
		if !strings.Contains(dpif, want) {
			t.Errorf("dpif/show lacks %q:\n%s", want, dpif)
		}
	}
	byName("vlog/set", "bridge:file:dbg").Check(t)
	// The daemon runs with -vbridge:console:dbg; the file column must now
	// say DBG too.
	if got := byName("vlog/list").Check(t); !strings.Contains(got, "bridge             DBG       INFO        DBG\n") {
		t.Errorf("vlog/list after set:\n%s", got)
	}
	if got := byName("fdb/flush").Check(t); got != "table successfully flushed\n" {
		t.Errorf("fdb/flush = %q", got)
	}

	// mtu_request reaches the kernel device and Interface.mtu.
	vsctl(t, s, "set", "Interface", br, "mtu_request=1400")
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		b, _ := os.ReadFile("/sys/class/net/" + br + "/mtu")
		return strings.TrimSpace(string(b)) == "1400" && s.Get(t, "Interface", br, "mtu") == "1400"
	}, "mtu_request=1400 applied")
}

func TestBadConfigAndRestart(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testBadConfigAndRestart(t, m.start) })
	}
}

func testBadConfigAndRestart(t *testing.T, startFn func(t testing.TB) (*dbClient, *proc)) {
	s, p := startFn(t)
	br := testutil.UniqueLinkName("gvb", "")
	v1 := testutil.NewVethPair(t, testutil.Veth{})
	v2 := testutil.NewVethPair(t, testutil.Veth{})
	missing := testutil.UniqueLinkName("gvm", "")
	vsctl(t, s, "add-br", br)
	vsctl(t, s, "add-port", br, v1.Name, "--", "set", "Interface", v1.Name, "ofport_request=5")
	r := vsctl(t, s, "add-port", br, missing)
	if !strings.Contains(r.Stderr, "Error detected while setting up '"+missing+"'") {
		t.Errorf("missing device: stderr %q", r.Stderr)
	}
	if got := s.Get(t, "Interface", missing, "error"); got != `"could not open network device `+missing+` (No such device)"` {
		t.Errorf("missing device error = %s", got)
	}
	vsctl(t, s, "add-port", br, "vx0", "--", "set", "Interface", "vx0", "type=vxlan", "options:remote_ip=192.0.2.1")
	if got := s.Get(t, "Interface", "vx0", "error"); got != `"unsupported interface type \"vxlan\""` {
		t.Errorf("vxlan error = %s", got)
	}
	vsctl(t, s, "add-port", br, v2.Name, "--", "set", "Interface", v2.Name, "ofport_request=5")
	if got := s.Get(t, "Interface", v2.Name, "error"); !strings.Contains(got, "ofport_request 5 is already in use") {
		t.Errorf("duplicate ofport_request error = %s", got)
	}
	if got := s.Get(t, "Interface", v1.Name, "ofport"); got != "5" {
		t.Errorf("first requester ofport = %s", got)
	}
	// The device appears later: netlink events re-attach it.
	testutil.NewVethPair(t, testutil.Veth{Name: missing})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		n, err := strconv.Atoi(s.Get(t, "Interface", missing, "ofport"))
		return err == nil && n > 0 && s.Get(t, "Interface", missing, "error") == "[]"
	}, "late device attached")
	missingOF := s.Get(t, "Interface", missing, "ofport")

	// SIGKILL and restart: everything comes back with the same ofports.
	p.kill()
	startDaemon(t, p.dir, p.cmd.Args[3:]...)
	vsctl(t, s, "set", "Bridge", br, "other_config:restart-test=1") // waits for cur_cfg
	if got := s.Get(t, "Interface", v1.Name, "ofport"); got != "5" {
		t.Errorf("after restart ofport = %s", got)
	}
	if got := s.Get(t, "Interface", missing, "ofport"); got != missingOF {
		t.Errorf("after restart late device ofport = %s, want %s", got, missingOF)
	}
	if got := s.Get(t, "Interface", br, "ofport"); got != "65534" {
		t.Errorf("after restart bridge ofport = %s", got)
	}
	if _, err := os.Stat("/sys/class/net/" + br); err != nil {
		t.Errorf("bridge netdev after restart: %v", err)
	}
}

func TestPingThroughSwitch(t *testing.T) {
	s, p := startEmbeddedMode(t)
	hosts := testutil.NewHosts(t, 2, nil)
	br := testutil.UniqueLinkName("gvb", "")
	vsctl(t, s, "add-br", br, "--", "add-port", br, hosts[0].SwitchIf, "--", "add-port", br, hosts[1].SwitchIf)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, pair := range [][2]int{{0, 1}, {1, 0}} {
		a, b := hosts[pair[0]], hosts[pair[1]]
		testutil.EventuallyOK(t, 10*time.Second, 50*time.Millisecond, func() error {
			return a.Ping(ctx, b.IP)
		}, "ping %v -> %v", a.IP, b.IP)
	}
	fdb := ovstest.Appctl(t, p.ctl(), "fdb/show", br).Check(t)
	for _, h := range hosts {
		if !strings.Contains(fdb, h.MAC.String()) {
			t.Errorf("fdb/show lacks %v:\n%s", h.MAC, fdb)
		}
	}
	t.Logf("dpctl/dump-flows:\n%s", ovstest.Appctl(t, p.ctl(), "dpctl/dump-flows").Check(t))
	trace := ovstest.Appctl(t, p.ctl(), "ofproto/trace", br, "in_port=1,dl_src="+hosts[0].MAC.String()+",dl_dst="+hosts[1].MAC.String()).Check(t)
	if !strings.Contains(trace, "bridge(\""+br+"\")") || !strings.Contains(trace, "Datapath actions:") {
		t.Errorf("ofproto/trace:\n%s", trace)
	}
	if got := ovstest.Appctl(t, p.ctl(), "dpif/dump-flows", br).Check(t); !strings.Contains(got, "actions:") {
		t.Errorf("dpif/dump-flows %s after pings:\n%s", br, got)
	}
}
