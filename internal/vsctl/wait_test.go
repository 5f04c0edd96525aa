package vsctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
)

// faultyBumper stands in for an ovs-vswitchd that fails some interfaces: it
// copies next_cfg to cur_cfg and gives each new interface an ofport, except
// interfaces named "bad*" (ofport -1 and an error) and "noport*" (no ofport,
// no error). It exercises the post-reconfiguration checks.
func faultyBumper(t *testing.T, sock string) {
	conn, err := net.Dial("unix", strings.TrimPrefix(sock, "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	enc, dec := json.NewEncoder(conn), json.NewDecoder(conn)
	mon := map[string]any{
		"Open_vSwitch": map[string]any{"columns": []string{"next_cfg", "cur_cfg"}},
		"Interface":    map[string]any{"columns": []string{"name", "ofport"}},
	}
	if err := enc.Encode(map[string]any{"id": 0, "method": "monitor", "params": []any{"Open_vSwitch", nil, mon}}); err != nil {
		t.Fatal(err)
	}
	type row map[string]json.RawMessage
	ovs, ifaces := map[string]row{}, map[string]row{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := 1
		port := 1
		for {
			var m struct {
				Method string            `json:"method"`
				Params []json.RawMessage `json:"params"`
				Result json.RawMessage   `json:"result"`
				ID     json.RawMessage   `json:"id"`
			}
			if dec.Decode(&m) != nil {
				return
			}
			var upd json.RawMessage
			switch {
			case m.Method == "update" && len(m.Params) == 2:
				upd = m.Params[1]
			case string(m.ID) == "0":
				upd = m.Result
			default:
				continue
			}
			var tables map[string]map[string]struct {
				New row `json:"new"`
			}
			if json.Unmarshal(upd, &tables) != nil {
				continue
			}
			for u, r := range tables["Open_vSwitch"] {
				ovs[u] = r.New
			}
			for u, r := range tables["Interface"] {
				if r.New == nil {
					delete(ifaces, u)
				} else {
					ifaces[u] = r.New
				}
			}
			ops := []any{"Open_vSwitch"}
			for u, r := range ovs {
				if r == nil || string(r["next_cfg"]) == string(r["cur_cfg"]) {
					continue
				}
				for iu, ir := range ifaces {
					if string(ir["ofport"]) != `["set",[]]` {
						continue
					}
					var name string
					_ = json.Unmarshal(ir["name"], &name)
					set := map[string]any{"ofport": port}
					switch {
					case strings.HasPrefix(name, "bad"):
						set = map[string]any{"ofport": -1, "error": "could not open network device " + name + " (No such device)"}
					case strings.HasPrefix(name, "noport"):
						continue
					}
					port++
					ops = append(ops, map[string]any{"op": "update", "table": "Interface",
						"where": []any{[]any{"_uuid", "==", []any{"uuid", iu}}}, "row": set})
				}
				ops = append(ops, map[string]any{"op": "update", "table": "Open_vSwitch",
					"where": []any{[]any{"_uuid", "==", []any{"uuid", u}}}, "row": map[string]any{"cur_cfg": json.RawMessage(r["next_cfg"])}})
			}
			if len(ops) > 1 {
				next++
				_ = enc.Encode(map[string]any{"id": fmt.Sprint("t", next), "method": "transact", "params": ops})
			}
		}
	}()
}

// TestPostChecks compares the "Error detected while setting up" reports.
func TestPostChecks(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	steps := lines(
		"add-br br0", "add-port br0 good0", "add-port br0 bad0", "add-port br0 noport0",
		"add-port br0 good1 -- add-port br0 bad1 -- add-port br0 noport1", "add-bond br0 bond0 bad2 good2",
		"set Interface good0 mtu_request=1400", "--timeout=5 add-br bad3", "add-br brx br0 7", "del-port bad0", "show",
	)
	sockA, sockB := startServer(t), startServer(t)
	faultyBumper(t, sockA)
	faultyBumper(t, sockB)
	var nw, ng normaliser
	for _, args := range steps {
		want := runTool(t, real, sockA, args, 10*time.Second)
		got := runTool(t, ours, sockB, args, 10*time.Second)
		if args[0] == "show" {
			want.stdout, got.stdout = sortLines(nw.apply(want.stdout)), sortLines(ng.apply(got.stdout))
		}
		if testing.Verbose() {
			t.Logf("%v: %s %q %q", args, want.status, want.stdout, want.stderr)
		}
		compare(t, args, want, got, &nw, &ng)
	}
}

// TestTimeouts compares death by SIGALRM on --timeout expiry.
func TestTimeouts(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	cases := lines(
		"-t 1 add-br br9", "--timeout=1 wait-until Bridge nope", "-t 1 --no-wait add-br br7 -- wait-until Bridge br7 name=x",
		"-t 1 wait-until Open_vSwitch . cur_cfg=5", "--no-syslog -t 1 add-br nsx", "-vsyslog:off -t 1 add-br nsy",
		"-vconsole:off -t 1 add-br nsz", "--verbose=syslog:warn -t 1 add-br nsw", "-vvsctl:syslog:err -t 1 add-br nsv",
	)
	for i, args := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			sockA, sockB := startServer(t), startServer(t)
			var nw, ng normaliser
			want := runTool(t, real, sockA, args, 10*time.Second)
			got := runTool(t, ours, sockB, args, 10*time.Second)
			if testing.Verbose() {
				t.Logf("%v: %s %q", args, want.status, want.stderr)
			}
			compare(t, args, want, got, &nw, &ng)
		})
	}
	t.Run("retry", func(t *testing.T) {
		t.Parallel()
		sock := "unix:" + t.TempDir() + "/none.sock"
		for _, args := range lines("-t 1 --retry list-br", "-t 1 --retry add-br x", "-vconsole:info -t 4 --retry list-br") {
			var nw, ng normaliser
			want := runTool(t, real, sock, args, 10*time.Second)
			got := runTool(t, ours, sock, args, 10*time.Second)
			compare(t, args, want, got, &nw, &ng)
		}
	})
}

// TestEmptyDatabase covers a database without the Open_vSwitch row.
func TestEmptyDatabase(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	for i, args := range lines("--no-wait init", "--no-wait list-br", "-t 1 list-br", "--no-wait show", "--no-wait add-br br0", "--no-wait list Open_vSwitch") {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			a := ovstest.StartOVSDBServer(t, &ovstest.Options{NoInit: true}).Sock
			b := ovstest.StartOVSDBServer(t, &ovstest.Options{NoInit: true}).Sock
			var nw, ng normaliser
			want := runTool(t, real, a, args, 10*time.Second)
			got := runTool(t, ours, b, args, 10*time.Second)
			compare(t, args, want, got, &nw, &ng)
			// The state left behind must match too.
			args = lines("--no-wait --columns=bridges,cur_cfg,next_cfg list Open_vSwitch")[0]
			want = runTool(t, real, a, args, 10*time.Second)
			got = runTool(t, ours, b, args, 10*time.Second)
			compare(t, args, want, got, &nw, &ng)
		})
	}
}

// TestConcurrentAddPort runs many gvsctl add-port processes at once on one
// bridge: the "wait" verifies make the losers retry, and every port must
// end up on the bridge.
func TestConcurrentAddPort(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	sock := startServer(t)
	if o := runTool(t, real, sock, lines("--no-wait add-br br0")[0], 0); o.status != "exit 0" {
		t.Fatal(o.stderr)
	}
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := runTool(t, ours, sock, []string{"--no-wait", "--timeout=20", "add-port", "br0", fmt.Sprint("p", i), "--", "set", "Open_vSwitch", ".", fmt.Sprint("external_ids:k", i, "=v")}, 30*time.Second)
			if o.status != "exit 0" || o.stderr != "" {
				errs <- fmt.Sprintf("p%d: %s %s", i, o.status, o.stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	o := runTool(t, real, sock, []string{"list-ports", "br0"}, 0)
	if got := strings.Count(o.stdout, "\n"); got != n {
		t.Errorf("list-ports: %d ports, want %d:\n%s", got, n, o.stdout)
	}
	o = runTool(t, real, sock, []string{"get", "Open_vSwitch", ".", "external_ids"}, 0)
	if got := strings.Count(o.stdout, "=v"); got != n {
		t.Errorf("external_ids has %d keys, want %d: %s", got, n, o.stdout)
	}
}

// TestWaitUntilWakes starts wait-until on a missing bridge, then creates it:
// both tools must wake up and exit 0 with the same output.
func TestWaitUntilWakes(t *testing.T) {
	real, ours := realVsctl(t), gvsctl(t)
	sockA, sockB := startServer(t), startServerOurs(t)
	args := lines("--timeout=20 wait-until Bridge br5 -- get Bridge br5 name -- wait-until Bridge br5 other_config:k=v")[0]
	chA, chB := make(chan outcome, 1), make(chan outcome, 1)
	go func() { chA <- runTool(t, real, sockA, args, 30*time.Second) }()
	go func() { chB <- runTool(t, ours, sockB, args, 30*time.Second) }()
	for _, step := range lines("--no-wait add-br br5", "--no-wait set Bridge br5 other_config:k=x", "--no-wait set Bridge br5 other_config:k=v") {
		for _, sock := range []string{sockA, sockB} {
			if o := runTool(t, real, sock, step, 0); o.status != "exit 0" {
				t.Fatal(o.stderr)
			}
		}
	}
	var nw, ng normaliser
	compare(t, args, <-chA, <-chB, &nw, &ng)
}

// TestWaitSurvivesServerRestart stops the database while gvsctl waits for
// cur_cfg, starts it again on the same socket and file, and acknowledges
// the change there: gvsctl must reconnect and exit 0, as ovs-vsctl does.
func TestWaitSurvivesServerRestart(t *testing.T) {
	ours := gvsctl(t)
	realVsctl(t)
	srv := ovstest.StartOVSDBServer(t, nil)
	done := make(chan outcome, 1)
	go func() { done <- runTool(t, ours, srv.Sock, []string{"--timeout=20", "add-br", "br0"}, 30*time.Second) }()
	// Wait until the change is committed (next_cfg bumped), then restart.
	deadline := time.Now().Add(10 * time.Second)
	for strings.TrimSpace(srv.Get(t, "Open_vSwitch", ".", "next_cfg")) == "0" {
		if time.Now().After(deadline) {
			t.Fatal("gvsctl did not commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	restartServer(t, srv)
	for {
		r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: srv.Bin.Vsctl, Args: []string{"--db=" + srv.Sock, "--no-wait", "set", "Open_vSwitch", ".", "cur_cfg=1", "--", "set", "Interface", "br0", "ofport=65534"}})
		if err == nil && r.OK() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted server unusable: %v %s", err, r.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o := <-done; o.status != "exit 0" || o.stderr != "" || o.stdout != "" {
		t.Fatalf("gvsctl: %s %q %q", o.status, o.stdout, o.stderr)
	}
}

// restartServer stops srv and starts a new ovsdb-server on the same socket
// and database file, stopped at the end of the test.
func restartServer(t *testing.T, srv *ovstest.Server) {
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(srv.Bin.OvsdbServer, srv.DBPath, "--remote=punix:"+srv.SockPath, "--unixctl="+srv.CtlPath+"2", "--pidfile="+srv.PIDPath+"2", "--log-file="+srv.LogPath+"2")
	cmd.Env = append(os.Environ(), srv.Env()...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// TestCommandsSurviveServerRestart restarts the database while wait-until
// blocks: gvsctl must reconnect and finish once the condition holds.
func TestCommandsSurviveServerRestart(t *testing.T) {
	ours := gvsctl(t)
	realVsctl(t)
	srv := ovstest.StartOVSDBServer(t, nil)
	done := make(chan outcome, 1)
	go func() {
		done <- runTool(t, ours, srv.Sock, []string{"--timeout=20", "wait-until", "Bridge", "br7", "--", "get", "Bridge", "br7", "name"}, 30*time.Second)
	}()
	// Restart once gvsctl has its monitor in place (it is then blocked).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Appctl(t, "memory/show").Stdout, "monitors:1") {
		if time.Now().After(deadline) {
			t.Fatal("gvsctl did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	restartServer(t, srv)
	for {
		r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: srv.Bin.Vsctl, Args: []string{"--db=" + srv.Sock, "--no-wait", "add-br", "br7"}})
		if err == nil && r.OK() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted server unusable: %v %s", err, r.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o := <-done; o.status != "exit 0" || o.stderr != "" || o.stdout != "br7\n" {
		t.Fatalf("gvsctl: %s %q %q", o.status, o.stdout, o.stderr)
	}
}
