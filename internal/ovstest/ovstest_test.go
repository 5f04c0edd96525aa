package ovstest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

func TestServerVsctl(t *testing.T) {
	t.Parallel()
	s := ovstest.StartOVSDBServer(t, nil)
	s.Vsctl(t, "--no-wait", "add-br", "br0").Check(t)
	if out := s.Vsctl(t, "list-br").Check(t); out != "br0\n" {
		t.Fatalf("list-br = %q, want br0", out)
	}
	// The package-level wrapper reaches the same server.
	if out := ovstest.Vsctl(t, s.Sock, "br-exists", "br0"); !out.OK() {
		t.Fatalf("br-exists br0: %v", out)
	}
	if r := s.Vsctl(t, "br-exists", "nope"); r.ExitCode != 2 {
		t.Fatalf("br-exists nope: want exit 2, got %v", r)
	}
}

func TestServerClientAndTool(t *testing.T) {
	t.Parallel()
	s := ovstest.StartOVSDBServer(t, nil)
	out := s.Client(t, "list-dbs", s.Sock).Check(t)
	if !strings.Contains(out, "Open_vSwitch") || !strings.Contains(out, "_Server") {
		t.Fatalf("list-dbs:\n%s", out)
	}
	if v := strings.TrimSpace(ovstest.OvsdbClient(t, "get-schema-version", s.Sock, "Open_vSwitch").Check(t)); v != "8.3.1" {
		t.Fatalf("schema version %q", v)
	}
	log := ovstest.OvsdbTool(t, "show-log", s.DBPath).Check(t)
	if !strings.HasPrefix(log, `record 0: "Open_vSwitch" schema, version="8.3.1"`) {
		t.Fatalf("show-log:\n%s", log)
	}
	if !strings.Contains(log, "record 1:") {
		t.Fatalf("show-log lacks the init transaction:\n%s", log)
	}
	if out := s.Appctl(t, "version").Check(t); !strings.Contains(out, "ovsdb-server") {
		t.Fatalf("appctl version: %q", out)
	}
}

func TestServerNoInit(t *testing.T) {
	t.Parallel()
	s := ovstest.StartOVSDBServer(t, &ovstest.Options{NoInit: true})
	out := s.Client(t, "query", s.Sock, `["Open_vSwitch",{"op":"select","table":"Open_vSwitch","where":[]}]`).Check(t)
	if strings.TrimSpace(out) != `[{"rows":[]}]` {
		t.Fatalf("NoInit database has an Open_vSwitch row:\n%s", out)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !s.Exited() {
		t.Fatal("server still running after Stop")
	}
}

func TestBumper(t *testing.T) {
	t.Parallel()
	s := ovstest.StartOVSDBServer(t, nil)
	b := ovstest.CurCfgBumper(t, s.Sock)
	// Without --no-wait ovs-vsctl waits for cur_cfg and checks ofport.
	r := s.Vsctl(t, "--timeout=10", "add-br", "br0", "--", "add-port", "br0", "p1", "--",
		"add-port", "br0", "p2", "--", "set", "Interface", "p2", "ofport_request=7")
	r.Check(t)
	if r.Stderr != "" {
		t.Fatalf("ovs-vsctl stderr: %s", r.Stderr)
	}
	for _, tt := range []struct{ iface, want string }{{"br0", "65534"}, {"p1", "1"}, {"p2", "7"}} {
		if got := s.Get(t, "Interface", tt.iface, "ofport"); got != tt.want {
			t.Errorf("ofport of %s = %s, want %s", tt.iface, got, tt.want)
		}
	}
	if cur, next := s.Get(t, "Open_vSwitch", ".", "cur_cfg"), s.Get(t, "Open_vSwitch", ".", "next_cfg"); cur != next {
		t.Fatalf("cur_cfg %s != next_cfg %s", cur, next)
	}
	if b.Bumps() == 0 {
		t.Fatal("bumper sent nothing")
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: "sleep", Args: []string{"10"}, Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ovstest.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}})
	if err != nil || r.ExitCode != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" || r.OK() {
		t.Fatalf("got %+v, %v", r, err)
	}
	r, err = ovstest.Exec(context.Background(), ovstest.Cmd{Bin: "sh", Args: []string{"-c", "kill -9 $$"}})
	if err != nil || r.Signal != 9 {
		t.Fatalf("got %+v, %v; want signal 9", r, err)
	}
}

func TestServerSchemaJSONAndDB(t *testing.T) {
	t.Parallel()
	schema, err := os.ReadFile(ovstest.RequireSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	s := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: schema})
	s.Vsctl(t, "--no-wait", "add-br", "brx").Check(t)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A second server serves a copy of the first one's database.
	s2 := ovstest.StartOVSDBServer(t, &ovstest.Options{DB: s.DBPath, NoInit: true})
	if out := s2.Vsctl(t, "list-br").Check(t); out != "brx\n" {
		t.Fatalf("list-br on the copied database = %q", out)
	}
}

// Like ovs-vswitchd, the bumper does not hand out a just-freed ofport again.
func TestBumperOfportsNotReused(t *testing.T) {
	t.Parallel()
	s := ovstest.StartOVSDBServer(t, nil)
	ovstest.CurCfgBumper(t, s.Sock)
	s.Vsctl(t, "add-br", "br0", "--", "add-port", "br0", "a", "--", "add-port", "br0", "b").Check(t)
	s.Vsctl(t, "del-port", "a").Check(t)
	s.Vsctl(t, "add-port", "br0", "c").Check(t)
	if got := s.Get(t, "Interface", "c", "ofport"); got != "3" {
		t.Fatalf("ofport of c = %s, want 3", got)
	}
	if got := s.Get(t, "Interface", "b", "ofport"); got != "2" {
		t.Fatalf("ofport of b = %s, want 2", got)
	}
}
