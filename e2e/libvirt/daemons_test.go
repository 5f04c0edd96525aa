//go:build linux

package libvirt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
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

// libvirtd is a private libvirtd (qemu:///system driver, so it can create
// TAPs and run ovs-vsctl) started by the test.
//
// Privileged libvirtd has compiled-in paths (/etc/libvirt, /run/libvirt,
// /var/lib/libvirt, ...) that no option moves, so the daemon runs in its own
// mount namespace where those directories are bind mounts of test
// directories and /run is a fresh tmpfs. That leaves the host's libvirt
// state alone and gives libvirt the default OVS database socket
// /var/run/openvswitch/db.sock: it is a bind mount of the switch's private
// run directory, so libvirt's unmodified "ovs-vsctl --timeout=5 ..." finds
// the switch under test exactly where it looks on a production host.
//
// qemu.conf has stdio_handler = "file", so virtlogd is not needed; QEMU runs
// as root without security driver, cgroups or namespaces, which keeps the
// test independent of the host's AppArmor and cgroup setup.
type libvirtd struct {
	dir    string // state root: etc, run, lib, cache, log, ovsrun
	path   string // PATH of the daemon, where libvirt finds ovs-vsctl
	sock   string // libvirt-sock seen from the host
	uri    string // for virsh -c
	log    string // log_outputs file
	stderr string // daemon stderr
	cmd    *exec.Cmd
	exited chan struct{}
}

const libvirtdConf = `# private libvirtd for gvswitch's e2e/libvirt test
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_level = 3
log_filters = "1:util.command 1:util.netdevopenvswitch 1:util.netdevtap 1:util.netdevbandwidth 1:qemu.qemu_interface 1:qemu.qemu_hotplug"
log_outputs = "1:file:%s"
`

const qemuConf = `# private qemu driver config for gvswitch's e2e/libvirt test
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
`

// ovsRunDir is where the switch under test keeps db.sock; libvirtd sees it
// as /var/run/openvswitch.
func (l *libvirtd) ovsRunDir() string { return filepath.Join(l.dir, "ovsrun") }

// newLibvirtd prepares the state directories; start runs the daemon.
func newLibvirtd(t *testing.T, dir string) *libvirtd {
	t.Helper()
	l := &libvirtd{dir: dir}
	for _, d := range []string{"etc", "run", "lib", "cache", "log", "ovsrun"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l.sock = filepath.Join(dir, "run", "libvirt-sock")
	l.uri = "qemu:///system?socket=" + l.sock
	l.log = filepath.Join(dir, "libvirtd.log")
	l.stderr = filepath.Join(dir, "libvirtd.stderr")
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("libvirtd.conf", fmt.Sprintf(libvirtdConf, l.log))
	write("qemu.conf", qemuConf)
	return l
}

// mountScript enters the private view of the file system and execs libvirtd.
func (l *libvirtd) mountScript(bin string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	b.WriteString("mount -t tmpfs -o mode=0755 gvs-run /run\n")
	b.WriteString("mkdir -p /run/libvirt /run/openvswitch /run/lock\n")
	binds := [][2]string{
		{"run", "/run/libvirt"},
		{"ovsrun", "/run/openvswitch"},
		{"etc", "/etc/libvirt"},
		{"lib", "/var/lib/libvirt"},
		{"cache", "/var/cache/libvirt"},
		{"log", "/var/log/libvirt"},
	}
	for _, bd := range binds {
		fmt.Fprintf(&b, "mkdir -p %s\nmount --bind %q %s\n", bd[1], filepath.Join(l.dir, bd[0]), bd[1])
	}
	fmt.Fprintf(&b, "exec %q -f %q -p %q\n", bin, filepath.Join(l.dir, "etc", "libvirtd.conf"), filepath.Join(l.dir, "libvirtd.pid"))
	return b.String()
}

// start runs libvirtd with PATH=path and waits until virsh can talk to it.
func (l *libvirtd) start(t *testing.T, path string) {
	t.Helper()
	bin := testutil.RequireBinary(t, "libvirtd")
	l.path = path
	_ = os.Remove(l.sock)
	errf, err := os.OpenFile(l.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	cmd := exec.Command("/bin/sh", "-c", l.mountScript(bin))
	cmd.Env = []string{"PATH=" + path, "HOME=/root", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = errf, errf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go makes / private before exec
		Setpgid:      true,
		Pdeathsig:    syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("libvirtd: %v", err)
	}
	l.cmd = cmd
	l.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) {
		_ = c.Wait()
		close(done)
	}(cmd, l.exited)
	ok := testutil.Poll(60*time.Second, 100*time.Millisecond, func() bool {
		select {
		case <-l.exited:
			return true
		default:
		}
		_, err := l.virsh("version")
		return err == nil
	})
	select {
	case <-l.exited:
		t.Fatalf("libvirtd exited at start:\n%s", l.tail(l.stderr, 40))
	default:
	}
	if !ok {
		t.Fatalf("libvirtd not answering within 60s:\n%s", l.tail(l.stderr, 40))
	}
}

// stop terminates the daemon (guests keep running, as with a real restart).
func (l *libvirtd) stop(t *testing.T) {
	t.Helper()
	if l.cmd == nil {
		return
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("libvirtd did not exit within 30s of SIGTERM; killing it")
		_ = l.cmd.Process.Kill()
		<-l.exited
	}
	l.cmd = nil
}

// virsh runs virsh against the private daemon.
func (l *libvirtd) virsh(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "virsh", append([]string{"-q", "-c", l.uri}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("virsh %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (l *libvirtd) mustVirsh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := l.virsh(args...)
	if err != nil {
		t.Fatalf("%v\nlibvirtd log:\n%s", err, l.tail(l.log, 30))
	}
	return out
}

// virshXML runs "virsh CMD [ARGS...] FILE" with xml in a temp file.
func (l *libvirtd) virshXML(cmd, xml string, args ...string) (string, error) {
	f, err := os.CreateTemp(l.dir, "*.xml")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(xml); err != nil {
		f.Close()
		return "", err
	}
	f.Close()
	a := []string{cmd}
	if cmd == "attach-device" || cmd == "detach-device" || cmd == "update-device" {
		a = append(a, args[0], f.Name())
		a = append(a, args[1:]...)
	} else {
		a = append(a, f.Name())
		a = append(a, args...)
	}
	return l.virsh(a...)
}

// cleanup destroys every domain and network of the private daemon (all are
// transient), stops it and kills QEMU processes left behind if the daemon
// could not.
func (l *libvirtd) cleanup(t *testing.T) {
	if l.cmd != nil {
		if out, err := l.virsh("list", "--name"); err == nil {
			if err := destroyGuests(l, strings.Fields(out)); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
		if out, err := l.virsh("net-list", "--name"); err == nil {
			for _, n := range strings.Fields(out) {
				if _, err := l.virsh("net-destroy", n); err != nil {
					t.Logf("cleanup: %v", err)
				}
			}
		}
		l.stop(t)
	}
	pids, _ := filepath.Glob(filepath.Join(l.dir, "run", "qemu", "*.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && isQEMU(pid) {
			t.Logf("cleanup: killing leftover qemu %d (%s)", pid, p)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func isQEMU(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(b, []byte("qemu-system"))
}

// tail returns the last n lines of a file.
func (l *libvirtd) tail(path string, n int) string { return tailFile(path, n) }

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logSize is the current size of the libvirtd log, for ovsFailures.
func (l *libvirtd) logSize() int {
	st, err := os.Stat(l.log)
	if err != nil {
		return 0
	}
	return int(st.Size())
}

// ovsFailures returns the libvirtd log lines after offset off that report a
// failed ovs-vsctl run or OVS operation, and how many ovs-vsctl runs the log
// shows.
func (l *libvirtd) ovsFailures(off int) (bad []string, runs int) {
	b, err := os.ReadFile(l.log)
	if err != nil {
		return []string{err.Error()}, 0
	}
	if off > len(b) {
		off = len(b)
	}
	for _, line := range strings.Split(string(b[off:]), "\n") {
		if strings.Contains(line, "About to run") && strings.Contains(line, "ovs-vsctl") {
			runs++
		}
		// Failures: errors of libvirt's OVS functions ("Unable to add port
		// vnet0 to OVS bridge br0", "Unable to delete port ..."), a failed
		// child "ovs-vsctl ..." (exit status or signal), and ovs-vsctl's own
		// error messages ("ovs-vsctl: ...") in a logged stderr, which
		// includes "Error detected while setting up" with exit status 0.
		if strings.Contains(line, ": error :") && (strings.Contains(line, "Openvswitch") ||
			strings.Contains(line, "OVS") || strings.Contains(line, "ovs-vsctl")) ||
			strings.Contains(line, "ovs-vsctl: ") {
			bad = append(bad, line)
		}
	}
	return bad, runs
}

// gvswitchd is the switch under test, on a private OVS_RUNDIR (libvirtd's
// /var/run/openvswitch), OVS_DBDIR and OVS_LOGDIR.
type gvswitchd struct {
	bin    string
	rundir string
	dir    string
	sock   string
	stderr string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (g *gvswitchd) env() []string {
	return append(os.Environ(),
		"OVS_RUNDIR="+g.rundir,
		"OVS_DBDIR="+filepath.Join(g.dir, "db"),
		"OVS_LOGDIR="+filepath.Join(g.dir, "log"),
	)
}

// startGvswitchd runs bin (embedded database and vswitchd) and waits until
// its database answers.
func startGvswitchd(t *testing.T, bin, rundir, dir string) *gvswitchd {
	t.Helper()
	g := &gvswitchd{bin: bin, rundir: rundir, dir: dir, sock: filepath.Join(rundir, "db.sock"), stderr: filepath.Join(dir, "gvswitchd.stderr")}
	for _, d := range []string{"db", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := net.Dial("unix", g.sock); err == nil {
		c.Close()
		t.Fatalf("%s already has a server", g.sock)
	}
	_ = os.Remove(g.sock)
	errf, err := os.Create(g.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	cmd := exec.Command(bin, "-vconsole:info")
	cmd.Env = g.env()
	cmd.Stdout, cmd.Stderr = errf, errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("gvswitchd: %v", err)
	}
	g.cmd = cmd
	g.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		g.stop(t)
		if t.Failed() {
			t.Logf("gvswitchd output (tail):\n%s", tailFile(g.stderr, 60))
		}
	})
	ok := testutil.Poll(30*time.Second, 50*time.Millisecond, func() bool {
		select {
		case <-g.exited:
			return true
		default:
		}
		c, err := net.Dial("unix", g.sock)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	select {
	case <-g.exited:
		t.Fatalf("gvswitchd exited at start:\n%s", tailFile(g.stderr, 40))
	default:
	}
	if !ok {
		t.Fatalf("gvswitchd: no %s within 30s:\n%s", g.sock, tailFile(g.stderr, 40))
	}
	return g
}

func (g *gvswitchd) stop(t *testing.T) {
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("gvswitchd did not exit within 20s of SIGTERM; killing it")
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	g.cmd = nil
}

// vsctl runs Debian's ovs-vsctl against the switch's database (the reference
// client is used for every assertion, whichever client libvirt uses).
func (g *gvswitchd) vsctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ovs-vsctl", append([]string{"--db=unix:" + g.sock, "--timeout=20"}, args...)...)
	cmd.Env = g.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
		}
		return out.String(), fmt.Errorf("ovs-vsctl %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

func (g *gvswitchd) mustVsctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := g.vsctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
