package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/unixctl"
)

const helperEnv = "GVS_APPCTL_TEST_HELPER_DIR"

// TestMain doubles as a tiny "ovs-vswitchd": pidfile plus control socket in
// the directory named by helperEnv, until stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helper(dir))
	}
	os.Exit(m.Run())
}

func helper(dir string) int {
	pf, err := daemon.CreatePidfile(filepath.Join(dir, "ovs-vswitchd.pid"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer pf.Remove()
	s, err := unixctl.NewServer(unixctl.SocketPath(dir, "ovs-vswitchd", os.Getpid()), unixctl.VersionString("ovs-vswitchd"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	s.Register("fdb/show", "bridge", 1, 1, func(a []string) (string, error) {
		if a[0] != "br0" {
			return "", errors.New("no such bridge")
		}
		return " port  VLAN  MAC                Age\n", nil
	})
	s.Start()
	defer s.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func startHelper(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	return dir
}

// TestSameAsOVSAppctl runs the same command lines through gvs-appctl and
// Debian's ovs-appctl and compares stdout, stderr and exit status.
func TestSameAsOVSAppctl(t *testing.T) {
	appctl := testutil.RequireBinary(t, "ovs-appctl")
	dir := startHelper(t)
	t.Setenv("OVS_RUNDIR", dir)
	ctl := ""
	matches, _ := filepath.Glob(filepath.Join(dir, "ovs-vswitchd.*.ctl"))
	if len(matches) == 1 {
		ctl = matches[0]
	}
	tests := [][]string{
		{"version"},
		{"-t", "ovs-vswitchd", "version"},
		{"-t", ctl, "list-commands"},
		{"--target=" + ctl, "fdb/show", "br0"},
		{"fdb/show", "nosuch"},
		{"fdb/show"},
		{"fdb/show", "a", "b"},
		{"no-such-command"},
		{"-t", "ovsdb-server", "version"},
		{"-t", filepath.Join(dir, "missing.ctl"), "version"},
		{},
		{"-V"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var so, se bytes.Buffer
			code := run(args, &so, &se)
			cmd := exec.Command(appctl, args...)
			var wo, we bytes.Buffer
			cmd.Stdout, cmd.Stderr = &wo, &we
			err := cmd.Run()
			wantCode := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				wantCode = ee.ExitCode()
			}
			if code != wantCode || so.String() != wo.String() || stripTime(se.String()) != stripTime(we.String()) {
				t.Errorf("gvs-appctl: exit %d\nstdout %q\nstderr %q\novs-appctl: exit %d\nstdout %q\nstderr %q",
					code, so.String(), se.String(), wantCode, wo.String(), we.String())
			}
		})
	}
}

// stripTime blanks the timestamps of vlog lines.
func stripTime(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if len(l) > 20 && l[4] == '-' && l[10] == 'T' {
			if j := strings.IndexByte(l, '|'); j > 0 {
				lines[i] = "TIME" + l[j:]
			}
		}
	}
	return strings.Join(lines, "\n")
}
