package server_test

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// monitorOutput runs "ovsdb-client <args>" against sock, applies the
// ovs-vsctl changes once the initial contents are printed, and returns the
// output after the last change has been reported.
func monitorOutput(t *testing.T, client string, sock string, args []string, changes [][]string) string {
	t.Helper()
	cmd := exec.Command(client, append([]string{"--format=json"}, append(args[:1:1], append([]string{sock}, args[1:]...)...)...)...)
	var out lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	// Every table ovsdb-client prints (the initial contents, then one per
	// update) has "headings"; counting newlines instead would count the
	// blank lines monitor-cond-since prints after each update and return
	// before the last one arrived.
	lines := func() int { return strings.Count(out.String(), `"headings"`) }
	testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { return lines() >= 1 }, "no initial output from %v", args)
	for i, c := range changes {
		ovsVsctl(t, sock, append([]string{"--no-wait"}, c...)...)
		testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() bool { return lines() >= i+2 },
			"no update for %v: %s", c, out.String())
	}
	return out.String()
}

func TestOvsdbClientMonitors(t *testing.T) {
	bins := ovstest.FindBinaries(t)
	real := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitchSchema()})
	ours := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, ours, "--no-wait", "init")
	// Every change touches the monitored Open_vSwitch columns, so each
	// produces exactly one update line.
	changes := [][]string{
		{"add-br", "br0"},
		{"set", "Open_vSwitch", ".", "other_config:a=1", "--", "add-port", "br0", "p1"},
		{"remove", "Open_vSwitch", ".", "other_config", "a", "--", "set", "Open_vSwitch", ".", "other_config:x=y"},
		{"del-br", "br0"},
	}
	for _, args := range [][]string{
		{"monitor", "Open_vSwitch", "Open_vSwitch", "bridges,other_config"},
		{"monitor-cond", "Open_vSwitch", `[true]`, "Open_vSwitch", "other_config,bridges"},
		{"monitor-cond-since", "Open_vSwitch", `[["next_cfg","==",0]]`, "Open_vSwitch", "other_config,bridges"},
	} {
		// Each command starts from the same state on both servers.
		for _, sock := range []string{real.Sock, ours} {
			ovsVsctl(t, sock, "--no-wait", "--if-exists", "del-br", "br0", "--", "remove", "Open_vSwitch", ".", "other_config", "x")
		}
		want := monitorOutput(t, bins.OvsdbClient, real.Sock, args, changes)
		got := monitorOutput(t, bins.OvsdbClient, ours, args, changes)
		if unordered(want) != unordered(got) {
			t.Errorf("ovsdb-client %v:\nDebian:\n%s\nours:\n%s", args, want, got)
		}
	}
}
