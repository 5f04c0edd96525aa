package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

// TestPersonalities runs gvswitchd through symlinks named ovsdb-server and
// ovs-vswitchd with the arguments Debian's ovs-ctl passes, as two separate
// daemons, and drives them with the real clients.
func TestPersonalities(t *testing.T) {
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("", "gvsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{progOVSDB, progVswitchd} {
		if err := os.Symlink(os.Args[0], filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	start := func(name string, args ...string) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = append(append(os.Environ(), daemonEnv+"=1"), env(dir)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
		pid, err := daemon.ReadPidfile(filepath.Join(dir, name+".pid"))
		if err != nil {
			t.Fatalf("%s pidfile: %v", name, err)
		}
		t.Cleanup(func() { _ = exec.Command("kill", "-KILL", itoa(pid)).Run() })
		comm, _ := os.ReadFile("/proc/" + itoa(pid) + "/comm")
		if got := strings.TrimSpace(string(comm)); got != name {
			t.Errorf("/proc/%d/comm = %q, want %q (ovs-ctl's daemon_is_running checks it)", pid, got, name)
		}
	}
	sock := filepath.Join(dir, "db.sock")
	start(progOVSDB, filepath.Join(dir, "conf.db"), "-vconsole:emer", "-vsyslog:err", "-vfile:info",
		"--remote=punix:"+sock, "--private-key=db:Open_vSwitch,SSL,private_key",
		"--certificate=db:Open_vSwitch,SSL,certificate", "--bootstrap-ca-cert=db:Open_vSwitch,SSL,ca_cert",
		"--no-chdir", "--log-file="+filepath.Join(dir, "ovsdb-server.log"),
		"--pidfile="+filepath.Join(dir, "ovsdb-server.pid"), "--detach")
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		_, err := os.Stat(sock)
		return err == nil
	}, "ovsdb-server socket")
	start(progVswitchd, "unix:"+sock, "-vconsole:emer", "-vsyslog:err", "-vfile:info", "--mlockall", "--no-chdir",
		"--log-file="+filepath.Join(dir, "ovs-vswitchd.log"), "--pidfile="+filepath.Join(dir, "ovs-vswitchd.pid"),
		"--detach", "--monitor")

	s := &dbClient{sock: "unix:" + sock, dir: dir}
	br := testutil.UniqueLinkName("gvb", "")
	vsctl(t, s, "add-br", br)
	if got := s.Get(t, "Interface", br, "ofport"); got != "65534" {
		t.Errorf("bridge ofport = %s", got)
	}
	b := ovstest.FindBinaries(t)
	for _, target := range []string{progOVSDB, progVswitchd} {
		r := ovstest.RunCmd(t, ovstest.Cmd{Bin: b.Appctl, Args: []string{"-t", target, "version"}, Env: env(dir)})
		if got := r.Check(t); got != target+" (Open vSwitch) 3.1.0\n" {
			t.Errorf("%s version = %q", target, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ovsdb-server.log")); err != nil {
		t.Errorf("ovsdb-server log file: %v", err)
	}
	// Debian's ovs-ctl stops the daemons with "ovs-appctl -t NAME exit".
	for _, target := range []string{progVswitchd, progOVSDB} {
		ovstest.RunCmd(t, ovstest.Cmd{Bin: b.Appctl, Args: []string{"-T", "1", "-t", target, "exit"}, Env: env(dir)}).Check(t)
		testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
			_, err := daemon.ReadPidfile(filepath.Join(dir, target+".pid"))
			return err != nil
		}, "%s exits", target)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
