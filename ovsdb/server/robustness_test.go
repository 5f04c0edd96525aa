package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
	"github.com/gvswitch/gvswitch/ovsdb/server"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOddParams sends every method every kind of malformed params: the
// server must answer (or ignore) each without an internal error.
func TestOddParams(t *testing.T) {
	var logs syncBuf
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	sock, _ := ovsdbtest.StartWith(t, ovsdbtest.Options{Server: server.Options{Logger: logger}})
	addr := "unix:" + sock
	ovsVsctl(t, addr, "--no-wait", "init", "--", "add-br", "br0")
	methods := []string{"list_dbs", "get_schema", "transact", "cancel", "monitor", "monitor_cond", "monitor_cond_since",
		"monitor_cond_change", "monitor_cancel", "lock", "steal", "unlock", "echo", "get_server_id", "set_db_change_aware", "convert"}
	params := []string{`[]`, `[1]`, `[null]`, `[{}]`, `[[]]`, `["Open_vSwitch"]`, `["_Server"]`, `["Open_vSwitch",1,2,3]`,
		`["Open_vSwitch",null,{"Bridge":{"columns":["name"]}},"x"]`, `["Open_vSwitch",null,{"Bridge":[{"where":[["name","<",1]]}]}]`,
		`["Open_vSwitch",null,{"Bridge":null}]`, `[null,null,{"Bridge":[{"where":[[]]}]}]`, `["Open_vSwitch",{"op":"select"}]`,
		`["Open_vSwitch",["x"],{"Bridge":{}},"00000000-0000-0000-0000-000000000000"]`, `[["x"],["y"],{"Bridge":[{"where":[true]}]}]`,
		`[true]`, `["L"]`, `[""]`, `["Open_vSwitch",{"op":"wait","table":"Bridge","where":[],"rows":[],"until":"==","timeout":-1}]`}
	c := dialRaw(t, addr)
	id := 0
	for _, m := range methods {
		for _, p := range params {
			id++
			c.send(fmt.Sprintf(`{"id":%d,"method":%q,"params":%s}`, id, m, p))
		}
	}
	msgs := c.call(`{"id":"last","method":"list_dbs","params":[]}`)
	if last := msgs[len(msgs)-1]; !strings.Contains(last, `"Open_vSwitch","_Server"`) {
		t.Fatalf("server did not survive: %v", last)
	}
	if l := logs.String(); l != "" {
		t.Fatalf("internal errors:\n%s", l)
	}
}
