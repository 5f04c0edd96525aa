package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/unixctl"
)

const helperEnv = "GVS_DAEMON_TEST_HELPER_DIR"

// TestMain doubles as a tiny daemon: with helperEnv set it writes a pidfile
// and a control socket in that directory, says "ready" and waits for stdin
// to close.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helperMain(dir))
	}
	os.Exit(m.Run())
}

func helperMain(dir string) int {
	p, err := CreatePidfile(filepath.Join(dir, "helper.pid"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer p.Remove()
	s, err := unixctl.NewServer(unixctl.SocketPath(dir, "helper", os.Getpid()), unixctl.VersionString("helper"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	log := NewLog(nil)
	log.AddModule("bridge")
	s.RegisterVLog(log)
	s.Start()
	defer s.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func startHelper(t *testing.T) (dir string, pid int) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return dir, cmd.Process.Pid
}

func TestPidfileLockedLikeOVS(t *testing.T) {
	dir, pid := startHelper(t)
	got, err := ReadPidfile(filepath.Join(dir, "helper.pid"))
	if err != nil || got != pid {
		t.Fatalf("ReadPidfile = %d, %v; want %d", got, err, pid)
	}
	if _, err := CreatePidfile(filepath.Join(dir, "helper.pid")); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second CreatePidfile: %v", err)
	}
	appctl := testutil.RequireBinary(t, "ovs-appctl")
	cmd := exec.Command(appctl, "-t", "helper", "version")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "helper (Open vSwitch) 3.1.0\n" {
		t.Fatalf("ovs-appctl version: %q %v", out, err)
	}
	cmd = exec.Command(appctl, "-t", "helper", "vlog/set", "bridge:file:dbg")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vlog/set: %q %v", out, err)
	}
	cmd = exec.Command(appctl, "-t", "helper", "vlog/list")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir)
	out, _ = cmd.CombinedOutput()
	want := "                 console    syslog    file\n                 -------    ------    ------\nbridge            INFO       INFO        DBG\n"
	if string(out) != want {
		t.Fatalf("vlog/list %q want %q", out, want)
	}
}

func TestStalePidfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPidfile(path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("ReadPidfile of unlocked file: %v", err)
	}
}

func TestVLogSet(t *testing.T) {
	var out strings.Builder
	l := NewLog(&out)
	lg := l.Logger("bridge")
	lg.Debug("hidden")
	if err := l.Set("bridge:console:dbg"); err != nil {
		t.Fatal(err)
	}
	lg.Debug("shown", "port", "p1")
	if !strings.Contains(out.String(), "|bridge|DBG|shown port=p1\n") || strings.Contains(out.String(), "hidden") {
		t.Fatalf("log output %q", out.String())
	}
	if err := l.Set("nosuch:dbg"); err == nil {
		t.Fatal("unknown module accepted")
	}
}

// TestVLogMatchesOVS compares vlog/list-pattern and vlog/set errors with
// Debian's ovsdb-server (started privately), through Debian's ovs-appctl.
func TestVLogMatchesOVS(t *testing.T) {
	server := testutil.RequireBinary(t, "ovsdb-server")
	tool := testutil.RequireBinary(t, "ovsdb-tool")
	appctl := testutil.RequireBinary(t, "ovs-appctl")
	ovsDir := t.TempDir()
	schema := "/usr/share/openvswitch/vswitch.ovsschema"
	_, err := os.Stat(schema)
	testutil.Require(t, err == nil, "schema %s: %v", schema, err)
	if out, err := exec.Command(tool, "create", filepath.Join(ovsDir, "conf.db"), schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool: %v %s", err, out)
	}
	ovsCtl := filepath.Join(ovsDir, "ovsdb-server.ctl")
	srv := exec.Command(server, filepath.Join(ovsDir, "conf.db"), "--unixctl="+ovsCtl, "-vconsole:off",
		"--log-file="+filepath.Join(ovsDir, "log"), "--pidfile="+filepath.Join(ovsDir, "pid"))
	srv.Env = append(os.Environ(), "OVS_RUNDIR="+ovsDir, "OVS_LOGDIR="+ovsDir, "OVS_DBDIR="+ovsDir)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		_, err := os.Stat(ovsCtl)
		return err == nil
	}, "ovsdb-server control socket")

	dir, _ := startHelper(t)
	matches, _ := filepath.Glob(filepath.Join(dir, "helper.*.ctl"))
	if len(matches) != 1 {
		t.Fatalf("helper control socket: %v", matches)
	}
	run := func(ctl string, args ...string) string {
		out, _ := exec.Command(appctl, append([]string{"-t", ctl}, args...)...).CombinedOutput()
		return strings.ReplaceAll(string(out), ctl, "CTL")
	}
	for _, args := range [][]string{
		{"vlog/list-pattern"},
		{"vlog/set", "nosuchmodule:dbg"},
		{"vlog/set", "PATTERN:nodest:x"},
		{"vlog/set", "console:nolevel"},
		{"no-such-command"},
		{"vlog/list", "extra"},
		{"vlog/reopen", "a", "b"},
	} {
		if got, want := run(matches[0], args...), run(ovsCtl, args...); got != want {
			t.Errorf("%v:\ngot  %q\nwant %q", args, got, want)
		}
	}
}
