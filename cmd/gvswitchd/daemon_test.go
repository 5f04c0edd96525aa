package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/unixctl"
)

// TestDetachSignals runs gvswitchd --detach --log-file as ovs-ctl would:
// the command returns once the daemon serves, ovs-appctl reaches both
// control sockets by name, SIGHUP reopens the log file after rotation, and
// SIGTERM removes pidfiles and sockets.
func TestDetachSignals(t *testing.T) {
	testutil.RequireRoot(t)
	dir, err := os.MkdirTemp("", "gvsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cmd := exec.Command(os.Args[0], "--detach", "--no-chdir", "--pidfile", "--log-file", "-vconsole:emer", "-vfile:info")
	cmd.Env = append(append(os.Environ(), daemonEnv+"=1"), env(dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gvswitchd --detach: %v: %s", err, out)
	}
	pid, err := daemon.ReadPidfile(filepath.Join(dir, "ovs-vswitchd.pid"))
	if err != nil {
		t.Fatalf("pidfile after --detach returned: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	b := ovstest.FindBinaries(t)
	for _, target := range []string{"ovs-vswitchd", "ovsdb-server"} {
		r := ovstest.RunCmd(t, ovstest.Cmd{Bin: b.Appctl, Args: []string{"-t", target, "version"}, Env: env(dir)})
		if got := r.Check(t); got != target+" (Open vSwitch) 3.1.0\n" {
			t.Errorf("%s version = %q", target, got)
		}
	}
	logPath := filepath.Join(dir, "ovs-vswitchd.log")
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		_, err := os.Stat(logPath)
		return err == nil
	}, "log file reopened after SIGHUP")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return syscall.Kill(pid, 0) != nil
	}, "gvswitchd exits on SIGTERM")
	for _, f := range []string{"ovs-vswitchd.pid", "ovsdb-server.pid", filepath.Base(unixctl.SocketPath(dir, "ovs-vswitchd", pid))} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left behind after SIGTERM", f)
		}
	}
	logText, _ := os.ReadFile(logPath)
	if !strings.Contains(string(logText), "gvswitchd exiting") {
		t.Errorf("reopened log lacks the exit message:\n%s", logText)
	}
}
