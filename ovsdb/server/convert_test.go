package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/server"
)

// oldSchema derives an "older" Open_vSwitch schema: version 8.2.0, one
// extra column, one column and one table fewer.
func oldSchema(t *testing.T) []byte {
	var s map[string]any
	if err := json.Unmarshal(vswitchSchema(), &s); err != nil {
		t.Fatal(err)
	}
	s["version"] = "8.2.0"
	delete(s, "cksum")
	tables := s["tables"].(map[string]any)
	delete(tables, "CT_Timeout_Policy")
	ctZone := tables["CT_Zone"].(map[string]any)["columns"].(map[string]any)
	delete(ctZone, "timeout_policy")
	br := tables["Bridge"].(map[string]any)["columns"].(map[string]any)
	br["legacy"] = map[string]any{"type": "string"}
	delete(br, "rstp_enable")
	b, _ := json.Marshal(s)
	return b
}

func TestSchemaUpgradeOnOpen(t *testing.T) {
	db := t.TempDir() + "/conf.db"
	sock := shortSock(t)
	old, err := server.New(server.Options{DBPath: db, Schema: oldSchema(t), Remotes: []string{"punix:" + sock}})
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, "unix:"+sock)
	msgs := c.call(`{"id":1,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}},` +
		`{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","legacy":"x","stp_enable":true,"ports":["named-uuid","p"]}},` +
		`{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p0","interfaces":["named-uuid","i"]}},` +
		`{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"p0","type":"internal"}}]}`)
	if strings.Contains(msgs[0], `"error":"`) {
		t.Fatalf("populate: %v", msgs)
	}
	old.Close()

	srv, err := server.New(server.Options{DBPath: db, Remotes: []string{"punix:" + sock}})
	if err != nil {
		t.Fatalf("open with the current schema: %v", err)
	}
	defer srv.Close()
	addr := "unix:" + sock
	if v := strings.TrimSpace(ovstest.OvsdbClient(t, "get-schema-version", addr).Check(t)); v != "8.3.1" {
		t.Fatalf("schema version after open %q", v)
	}
	if got := ovsVsctl(t, addr, "list-ports", "br0"); got != "p0" {
		t.Fatalf("list-ports %q", got)
	}
	if got := ovsVsctl(t, addr, "get", "Bridge", "br0", "stp_enable", "rstp_enable"); got != "true\nfalse" {
		t.Fatalf("bridge columns %q", got)
	}
	srv.Close()
	out := ovstest.OvsdbTool(t, "show-log", db).Check(t)
	if !strings.Contains(out, `version="8.3.1"`) || strings.Count(out, "record ") != 2 {
		t.Fatalf("converted file:\n%s", out)
	}
}
