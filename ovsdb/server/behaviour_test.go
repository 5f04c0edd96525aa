package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
	"github.com/gvswitch/gvswitch/ovsdb/server"
	"github.com/gvswitch/gvswitch/ovsdb/storage"
)

func result(t testing.TB, msg string) json.RawMessage {
	t.Helper()
	var m struct {
		Result json.RawMessage
		Error  json.RawMessage
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		t.Fatalf("bad message %q: %v", msg, err)
	}
	return m.Result
}

func TestMonitorCondSince(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init", "--", "add-br", "br0")
	a := dialRaw(t, sock)
	msgs := a.call(`{"id":1,"method":"monitor_cond_since","params":["Open_vSwitch",["m"],{"Bridge":[{"columns":["name","external_ids"]}]},"00000000-0000-0000-0000-000000000000"]}`)
	var r []json.RawMessage
	if err := json.Unmarshal(result(t, msgs[len(msgs)-1]), &r); err != nil || len(r) != 3 || string(r[0]) != "false" {
		t.Fatalf("first monitor_cond_since reply %v (%v)", msgs, err)
	}
	var last string
	json.Unmarshal(r[1], &last)
	ovsVsctl(t, sock, "--no-wait", "set", "Bridge", "br0", "external-ids:k=v", "--", "add-br", "br1")
	upd := a.next(5 * time.Second)
	if !strings.Contains(upd, `"update3"`) || !strings.Contains(upd, `"modify":{"external_ids":["map",[["k","v"]]]}`) {
		t.Fatalf("update3 %s", upd)
	}
	// A reconnecting client that saw txn "last" gets only what changed since.
	b := dialRaw(t, sock)
	msgs = b.call(fmt.Sprintf(`{"id":1,"method":"monitor_cond_since","params":["Open_vSwitch",["m"],{"Bridge":[{"columns":["name","external_ids"]}]},%q]}`, last))
	res := string(result(t, msgs[len(msgs)-1]))
	if !strings.HasPrefix(res, "[true,") || !strings.Contains(res, `"insert":{"name":"br1"}`) || strings.Contains(res, `"br0"`) {
		t.Fatalf("resumed monitor_cond_since reply %s", res)
	}
	// Asking with the current id: found, nothing to send.
	var cur []json.RawMessage
	json.Unmarshal([]byte(res), &cur)
	c := dialRaw(t, sock)
	msgs = c.call(fmt.Sprintf(`{"id":1,"method":"monitor_cond_since","params":["Open_vSwitch",["m"],{"Bridge":[{"columns":["name"]}]},%s]}`, cur[1]))
	if res := string(result(t, msgs[len(msgs)-1])); res != fmt.Sprintf("[true,%s,{}]", cur[1]) {
		t.Fatalf("up-to-date monitor_cond_since reply %s", res)
	}
}

func TestUpdateBeforeReply(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init")
	a := dialRaw(t, sock)
	a.call(`{"id":1,"method":"monitor_cond","params":["Open_vSwitch",["m"],{"Open_vSwitch":[{"columns":["next_cfg"]}]}]}`)
	msgs := a.call(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]}`)
	if len(msgs) != 2 || !strings.Contains(msgs[0], `"update2"`) || !strings.Contains(msgs[0], `{"modify":{"next_cfg":1}}`) ||
		!strings.Contains(msgs[1], `[{"count":1},{"rows":[{"next_cfg":1}]}]`) {
		t.Fatalf("messages %v", msgs)
	}
}

func TestTriggers(t *testing.T) {
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init")
	a := dialRaw(t, sock)
	a.send(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Bridge","where":[["name","==","brw"]],"columns":["name"],"rows":[{"name":"brw"}],"until":"=="},{"op":"select","table":"Bridge","where":[["name","==","brw"]],"columns":["name"]}]}`)
	a.send(`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Bridge","where":[],"columns":["name"],"rows":[],"until":"!=","timeout":150}]}`)
	start := time.Now()
	if m := a.next(2 * time.Second); !strings.Contains(m, `"timed out"`) || time.Since(start) < 140*time.Millisecond {
		t.Fatalf("timed wait: %s after %v", m, time.Since(start))
	}
	if m := a.next(50 * time.Millisecond); m != "" {
		t.Fatalf("untimed wait answered early: %s", m)
	}
	ovsVsctl(t, sock, "--no-wait", "add-br", "brw")
	if m := a.next(5 * time.Second); m != `{"id":1,"result":[{},{"rows":[{"name":"brw"}]}],"error":null}` {
		t.Fatalf("wait reply %s", m)
	}
	// cancel: db-change-aware sessions get "canceled".
	a.call(`{"id":3,"method":"set_db_change_aware","params":[true]}`)
	a.send(`{"id":4,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Bridge","where":[],"columns":["name"],"rows":[],"until":"=="}]}`)
	a.send(`{"id":null,"method":"cancel","params":[4]}`)
	if m := a.next(5 * time.Second); m != `{"id":4,"result":null,"error":{"error":"canceled"}}` {
		t.Fatalf("cancel reply %s", m)
	}
	// ovsdb-client wait blocks on a _Server trigger until the db exists.
	r := ovstest.OvsdbClient(t, "wait", sock, "Open_vSwitch", "connected")
	if !r.OK() {
		t.Fatalf("ovsdb-client wait: %s", r)
	}
}

func TestBadInput(t *testing.T) {
	sock, _ := ovsdbtest.StartWith(t, ovsdbtest.Options{Server: server.Options{MaxMessageSize: 1 << 20}})
	addr := "unix:" + sock
	ovsVsctl(t, addr, "--no-wait", "init", "--", "add-br", "br0")
	before := ovstest.OvsdbClient(t, "dump", addr).Check(t)
	bad := []string{
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"x"}},{"op":"insert","table":"Bridge","row":{"name":5}}]}`,
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Port","row":{"name":"x"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["uuid","2c1e5d4e-1111-2222-3333-444455556666"]]]]]}]}`,
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"delete","table":"Open_vSwitch","where":[]},{"op":"abort"}]}`,
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Bridge","where":[],"row":{"flood_vlans":["set",[1,"x"]]}}]}`,
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"br0"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","nope"]]]]]}]}`,
	}
	for _, req := range bad {
		c := dialRaw(t, addr)
		msgs := c.call(req)
		if !strings.Contains(msgs[len(msgs)-1], `"error":"`) {
			t.Errorf("%s: no error in %v", req, msgs)
		}
	}
	// Protocol violations end the session.
	for _, raw := range []string{`{"id":1,"method":"echo","params":[]`, `[1,2]`, `{"jsonrpc":"2.0","id":1,"method":"echo","params":[]}`,
		`{"id":1,"method":"echo","params":{}}`, `{"id":1,"method":"echo","params":["` + strings.Repeat("x", 2<<20) + `"]}`} {
		c := dialRaw(t, addr)
		_ = c.c.WriteRaw([]byte(raw)) // the server may hang up while a huge message is sent
		if raw[len(raw)-1] != '}' || raw[0] != '{' {
			c.c.NetConn().(interface{ CloseWrite() error }).CloseWrite()
		}
		if m := c.next(5 * time.Second); m != "EOF" {
			t.Errorf("%.60s: got %q, want the session closed", raw, m)
		}
	}
	if after := ovstest.OvsdbClient(t, "dump", addr).Check(t); after != before {
		t.Errorf("database changed by failed transactions:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestSlowClient checks that a client that stops reading its monitor
// updates is disconnected instead of blocking commits.
func TestSlowClient(t *testing.T) {
	sock, _ := ovsdbtest.StartWith(t, ovsdbtest.Options{Server: server.Options{MaxBacklog: 64 << 10}})
	addr := "unix:" + sock
	ovsVsctl(t, addr, "--no-wait", "init")
	// A raw socket that never reads.
	c, err := dialUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"id":1,"method":"monitor","params":["Open_vSwitch",null,{"Open_vSwitch":{"columns":["external_ids"]}}]}`))
	big := strings.Repeat("v", 4000)
	fast := dialRaw(t, addr)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 400; i++ {
		msgs := fast.call(fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","delete",["set",["k"]]],["external_ids","insert",["map",[["k","%d%s"]]]]]}]}`, i, i, big))
		if !strings.Contains(msgs[len(msgs)-1], `[{"count":1}]`) {
			t.Fatalf("commit %d: %v", i, msgs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("commits stalled")
		}
	}
	// The non-reading client has been disconnected: reading now drains
	// what was buffered and then hits EOF.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1<<20)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("slow client was not disconnected")
			}
			break
		}
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	db := dir + "/conf.db"
	sockPath := shortSock(t)
	start := func() *server.Server {
		s, err := server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sockPath}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	sock := "unix:" + sockPath
	ovsVsctl(t, sock, "--no-wait", "init", "--", "add-br", "br0", "--", "add-port", "br0", "p1", "--",
		"set", "Bridge", "br0", "external-ids:a=b", "status:ephemeral=yes")
	ovsVsctl(t, sock, "--no-wait", "add-port", "br0", "p2", "--", "del-port", "p1", "--", "set", "Bridge", "br0", "external-ids:c=d")
	want := ovsVsctl(t, sock, "--format=json", "--columns=name,external_ids", "list", "Bridge")
	s.Close()
	data, _ := os.ReadFile(db)
	if strings.Contains(string(data), `"ephemeral","yes"`) {
		t.Errorf("ephemeral column written to the database file")
	}
	// Debian's ovsdb-tool and ovsdb-server read our file.
	ovstest.OvsdbTool(t, "show-log", db).Check(t)
	real := ovstest.StartOVSDBServer(t, &ovstest.Options{DB: db, NoInit: true})
	if got := ovsVsctl(t, real.Sock, "--format=json", "--columns=name,external_ids", "list", "Bridge"); got != want {
		t.Fatalf("Debian reads %s, want %s", got, want)
	}
	if got := ovsVsctl(t, real.Sock, "list-ports", "br0"); got != "p2" {
		t.Fatalf("Debian list-ports %q", got)
	}
	// Debian writes more; we read its file back.
	ovsVsctl(t, real.Sock, "--no-wait", "add-port", "br0", "p3", "--", "set", "Bridge", "br0", "external-ids:e=f")
	real.Stop()
	data, err := os.ReadFile(real.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s = start()
	if got := ovsVsctl(t, sock, "list-ports", "br0"); got != "p2\np3" {
		t.Fatalf("list-ports after reopen %q", got)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	want = ovsVsctl(t, sock, "--format=json", "--columns=name,external_ids,ports", "list", "Bridge")
	s.Close()
	s = start()
	defer s.Close()
	if got := ovsVsctl(t, sock, "--format=json", "--columns=name,external_ids,ports", "list", "Bridge"); got != want {
		t.Fatalf("after compaction %s, want %s", got, want)
	}
	out := ovstest.OvsdbTool(t, "show-log", db).Check(t)
	if n := strings.Count(out, "record "); n != 2 {
		t.Errorf("compacted file has %d records:\n%s", n, out)
	}
}

func TestRemotes(t *testing.T) {
	sock, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{})
	addr := "unix:" + sock
	ovsVsctl(t, addr, "--no-wait", "init")
	if err := srv.AddRemote("db:Open_vSwitch,Open_vSwitch,manager_options"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddRemote("ptcp:0:127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	tcp := "tcp:" + srv.Addr("ptcp:0:127.0.0.1").String()
	if got := strings.TrimSpace(ovstest.OvsdbClient(t, "list-dbs", tcp).Check(t)); got != "Open_vSwitch\n_Server" {
		t.Fatalf("list-dbs over TCP: %q", got)
	}
	ovsVsctl(t, addr, "--no-wait", "set-manager", "ptcp:0:127.0.0.2")
	var a string
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		if na := srv.Addr("ptcp:0:127.0.0.2"); na != nil {
			a = na.String()
			return true
		}
		return false
	}, "manager target never listened")
	ovstest.OvsdbClient(t, "list-dbs", "tcp:"+a).Check(t)
	ovsVsctl(t, addr, "--no-wait", "del-manager")
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool { return srv.Addr("ptcp:0:127.0.0.2") == nil },
		"manager target still listening")
	if got := fmt.Sprint(srv.ListRemotes()); !strings.Contains(got, "db:Open_vSwitch,Open_vSwitch,manager_options") {
		t.Fatalf("ListRemotes %s", got)
	}
	if err := srv.RemoveRemote("ptcp:0:127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := srv.RemoveRemote("ptcp:0:127.0.0.1"); err == nil {
		t.Fatal("removing a removed remote succeeded")
	}
}

func TestInactivityProbe(t *testing.T) {
	_, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{Server: server.Options{ProbeInterval: 200 * time.Millisecond}})
	if err := srv.AddRemote("ptcp:0:127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, "tcp:"+srv.Addr("ptcp:0:127.0.0.1").String())
	if m := c.next(5 * time.Second); !strings.Contains(m, `"method":"echo"`) {
		t.Fatalf("no probe: %q", m)
	}
	if m := c.next(5 * time.Second); m != "EOF" {
		t.Fatalf("unanswered probe did not disconnect: %q", m)
	}
}

// TestGroupCommitDurability commits from many clients at once (sharing
// fsyncs) and checks that every acknowledged transaction is in the file.
func TestGroupCommitDurability(t *testing.T) {
	db := t.TempDir() + "/conf.db"
	sockPath := shortSock(t)
	s, err := server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sockPath}})
	if err != nil {
		t.Fatal(err)
	}
	sock := "unix:" + sockPath
	ovsVsctl(t, sock, "--no-wait", "init")
	const clients, each = 8, 25
	done := make(chan error, clients)
	for c := 0; c < clients; c++ {
		go func() {
			rc := dialRaw(t, sock)
			for i := 0; i < each; i++ {
				msgs := rc.call(fmt.Sprintf(`{"id":%d,"method":"transact","params":["Open_vSwitch",`+
					`{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","insert",["map",[["c%d-%d","x"]]]]]}]}`, i, c, i))
				if !strings.Contains(msgs[len(msgs)-1], `[{"count":1}]`) {
					done <- fmt.Errorf("client %d: %v", c, msgs)
					return
				}
			}
			done <- nil
		}()
	}
	for c := 0; c < clients; c++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sockPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := ovsVsctl(t, sock, "get", "Open_vSwitch", ".", "external_ids")
	if n := strings.Count(got, "=x"); n != clients*each {
		t.Fatalf("%d of %d acknowledged transactions survived a restart", n, clients*each)
	}
}

// TestActiveRemote checks that the server connects out to "tcp:" remotes
// (given directly or as Manager targets), serves the connection like any
// other, and reconnects after the peer hangs up.
func TestActiveRemote(t *testing.T) {
	sock, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{})
	ovsVsctl(t, "unix:"+sock, "--no-wait", "init")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accept := func() *jsonrpc.Conn {
		t.Helper()
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("server did not connect: %v", err)
		}
		return jsonrpc.NewConn(c)
	}
	listDBs := func(c *jsonrpc.Conn) {
		t.Helper()
		if err := c.Write(jsonrpc.NewRequest("list_dbs", []any{}, 1)); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read()
		if err != nil || string(m.Result) != `["Open_vSwitch","_Server"]` {
			t.Fatalf("list_dbs over active remote: %v %v", m, err)
		}
	}
	remote := "tcp:" + ln.Addr().String()
	if err := srv.AddRemote(remote); err != nil {
		t.Fatal(err)
	}
	c := accept()
	listDBs(c)
	c.Close() // the server reconnects
	c = accept()
	listDBs(c)
	if err := srv.RemoveRemote(remote); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(); err == nil {
		t.Fatal("connection survived RemoveRemote")
	}
	c.Close()
	// The same through a Manager target.
	if err := srv.AddRemote("db:Open_vSwitch,Open_vSwitch,manager_options"); err != nil {
		t.Fatal(err)
	}
	ovsVsctl(t, "unix:"+sock, "--no-wait", "set-manager", remote)
	c = accept()
	listDBs(c)
	c.Close()
}

// TestManagerStatus checks that db: remote targets report their state in
// Manager.is_connected and Manager.status, as ovsdb-server does.
func TestManagerStatus(t *testing.T) {
	sock, srv := ovsdbtest.StartWith(t, ovsdbtest.Options{})
	addr := "unix:" + sock
	ovsVsctl(t, addr, "--no-wait", "init")
	if err := srv.AddRemote("db:Open_vSwitch,Open_vSwitch,manager_options"); err != nil {
		t.Fatal(err)
	}
	ovsVsctl(t, addr, "--no-wait", "set-manager", "ptcp:0:127.0.0.1")
	var port string
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		port = ovsVsctl(t, addr, "--if-exists", "get", "Manager", "ptcp:0:127.0.0.1", "status:bound_port")
		return port != "" && port != `""`
	}, "no bound_port in Manager.status")
	port = strings.Trim(port, `"`)
	if got := ovsVsctl(t, addr, "get", "Manager", "ptcp:0:127.0.0.1", "is_connected"); got != "false" {
		t.Fatalf("is_connected before any client: %s", got)
	}
	c := dialRaw(t, "tcp:127.0.0.1:"+port)
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return ovsVsctl(t, addr, "get", "Manager", "ptcp:0:127.0.0.1", "is_connected") == "true"
	}, "is_connected never became true")
	c.c.Close()
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return ovsVsctl(t, addr, "get", "Manager", "ptcp:0:127.0.0.1", "is_connected") == "false"
	}, "is_connected never went back to false")
}

// TestRecordsAreCompact: the server hands commit records to the log as
// they are (Log.AppendCompactRecord), so they must already be exactly what
// storage.AppendCompact would write: check every record of a database that
// saw strings needing escapes, non-ASCII, reals, maps, sets and deletions,
// and that Debian's ovsdb-tool reads it.
func TestRecordsAreCompact(t *testing.T) {
	db := t.TempDir() + "/conf.db"
	sockPath := shortSock(t)
	s, err := server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sockPath}})
	if err != nil {
		t.Fatal(err)
	}
	sock := "unix:" + sockPath
	ovsVsctl(t, sock, "--no-wait", "init")
	ovsVsctl(t, sock, "--no-wait", "add-br", "br0", "--", "set", "Bridge", "br0",
		`external_ids:q="a\"b\\c/<&>"`, "external_ids:u=héllo→✓", "other_config:x=y")
	rc := dialRaw(t, sock)
	for _, req := range []string{
		`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Bridge","where":[],"row":{"external_ids":["map",[["ctl","\t\n\r\b\f\u0001\u001f"],["esc","\u00e9\ud83d\ude00"]]]}}]}`,
		`{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"QoS","row":{"type":"linux-htb","other_config":["map",[["max-rate","1e3"]]]}},{"op":"insert","table":"Queue","row":{"dscp":7}},{"op":"comment","comment":"quote \" and \\ and ✓"}]}`,
		`{"id":3,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",5],["external_ids","insert",["map",[["r","1.5"]]]]]},{"op":"commit","durable":true}]}`,
		`{"id":4,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","delete",["set",["u"]]]]}]}`,
	} {
		if msgs := rc.call(req); strings.Contains(msgs[len(msgs)-1], `"error":"`) || !strings.Contains(msgs[len(msgs)-1], `"result":[`) {
			t.Fatalf("%s: %v", req, msgs)
		}
	}
	ovsVsctl(t, sock, "--no-wait", "del-br", "br0")
	s.Close()
	_, recs, err := storage.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 6 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		c, err := storage.AppendCompact(nil, r)
		if err != nil || !bytes.Equal(c, r) {
			t.Errorf("record %d not in compact form (%v):\n%s\n%s", i+1, err, r, c)
		}
	}
	if bins, err := ovstest.LookBinaries(); err == nil {
		if res := ovstest.Run(t, bins.OvsdbTool, "show-log", db); !res.OK() {
			t.Fatalf("ovsdb-tool show-log: %v", res)
		}
	}
}
