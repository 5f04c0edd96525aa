package server_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

// rawClient is a bare JSON-RPC connection for protocol tests.
type rawClient struct {
	t    testing.TB
	c    *jsonrpc.Conn
	msgs chan *jsonrpc.Message
	errs chan error
}

func dialRaw(t testing.TB, sock string) *rawClient {
	t.Helper()
	c, err := jsonrpc.Dial(sock, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	rc := &rawClient{t: t, c: c, msgs: make(chan *jsonrpc.Message, 100), errs: make(chan error, 1)}
	go func() {
		for {
			m, err := c.Read()
			if err != nil {
				rc.errs <- err
				close(rc.msgs)
				return
			}
			rc.msgs <- m
		}
	}()
	t.Cleanup(func() { c.Close() })
	return rc
}

func (rc *rawClient) send(raw string) {
	rc.t.Helper()
	if err := rc.c.WriteRaw([]byte(raw)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// next returns the next message as compact JSON, or "" on timeout and
// "EOF" when the server closed the connection.
func (rc *rawClient) next(timeout time.Duration) string {
	select {
	case m, ok := <-rc.msgs:
		if !ok {
			return "EOF"
		}
		return string(m.Marshal())
	case <-time.After(timeout):
		return ""
	}
}

// call sends a request and returns every message up to and including the
// reply with the same id.
func (rc *rawClient) call(raw string) []string {
	rc.t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		rc.t.Fatalf("bad request %s: %v", raw, err)
	}
	rc.send(raw)
	var out []string
	for {
		s := rc.next(5 * time.Second)
		if s == "" || s == "EOF" {
			return append(out, s)
		}
		out = append(out, s)
		var r map[string]json.RawMessage
		_ = json.Unmarshal([]byte(s), &r)
		if string(r["id"]) == string(m["id"]) && r["method"] == nil {
			return out
		}
	}
}

// protocolScript is a conversation run on one connection to each server.
var protocolScript = []string{
	`{"id":1,"method":"list_dbs","params":[]}`,
	`{"id":"s1","method":"get_schema","params":["Open_vSwitch"]}`,
	`{"id":"s2","method":"get_schema","params":["_Server"]}`,
	`{"id":2,"method":"echo","params":["a",1,[true]]}`,
	`{"id":3,"method":"frobnicate","params":[]}`,
	`{"id":4,"method":"get_schema","params":["Nope"]}`,
	`{"id":5,"method":"transact","params":["_Server",{"op":"insert","table":"Database","row":{"name":"x"}}]}`,
	`{"id":"5b","method":"transact","params":["_Server",{"op":"insert","table":"Database","row":{"name":"x","model":"relay"}}]}`,
	`{"id":"5c","method":"transact","params":["_Server",{"op":"delete","table":"Database","where":[]}]}`,
	`{"id":"5d","method":"transact","params":["_Server",{"op":"mutate","table":"Database","where":[],"mutations":[["index","insert",["set",[1]]]]}]}`,
	`{"id":6,"method":"transact","params":["_Server",{"op":"select","table":"Database","where":[["name","==","Open_vSwitch"]],"columns":["name","model","connected","leader"]}]}`,
	`{"id":7,"method":"monitor_cancel","params":["nope"]}`,
	`{"id":8,"method":"monitor","params":["Open_vSwitch",null,{"Bridge":{"columns":["name"]}}]}`,
	`{"id":9,"method":"monitor","params":["Open_vSwitch",null,{"Bridge":{"columns":["name"]}}]}`,
	`{"id":10,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"b9"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]]]}]}`,
	`{"id":11,"method":"monitor_cancel","params":[null]}`,
	`{"id":12,"method":"monitor_cond","params":["Open_vSwitch",["m",2],{"Bridge":[{"columns":["name","external_ids"],"where":[["name","==","b9"]]}],"Port":{"columns":[]}}]}`,
	`{"id":13,"method":"transact","params":["Open_vSwitch",{"op":"mutate","table":"Bridge","where":[["name","==","b9"]],"mutations":[["external_ids","insert",["map",[["k","v"]]]]]}]}`,
	`{"id":14,"method":"monitor_cond_change","params":[["m",2],["m",3],{"Bridge":[{"where":[["name","==","br0"]]}]}]}`,
	`{"id":15,"method":"monitor_cond_since","params":["Open_vSwitch",["s"],{"Bridge":[{"columns":["name"]}]},"00000000-0000-0000-0000-000000000000"]}`,
	`{"id":16,"method":"monitor_cond_since","params":["Open_vSwitch",["s2"],{"Nope":[{"columns":["name"]}]},"00000000-0000-0000-0000-000000000000"]}`,
	`{"id":17,"method":"monitor","params":["Open_vSwitch",["c"],{"Bridge":{"columns":["nope"]}}]}`,
	`{"id":18,"method":"set_db_change_aware","params":[true]}`,
	`{"id":19,"method":"lock","params":["L"]}`,
	`{"id":20,"method":"lock","params":["L"]}`,
	`{"id":21,"method":"transact","params":["Open_vSwitch",{"op":"assert","lock":"L"},{"op":"comment","comment":"c"}]}`,
	`{"id":22,"method":"unlock","params":["L"]}`,
	`{"id":23,"method":"unlock","params":["L"]}`,
	`{"id":24,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Bridge","where":[],"rows":[],"until":"==","timeout":0}]}`,
	`{"id":"x","method":"transact","params":[]}`,
	`{"id":25,"method":"transact","params":["Open_vSwitch"]}`,
	`{"id":26,"method":"get_schema","params":[]}`,
	`{"id":40,"method":"monitor","params":["Open_vSwitch",["v1"],{"Bridge":{"columns":["name"],"select":{"initial":false,"modify":false}},"Open_vSwitch":[{"columns":["bridges"]},{"columns":["next_cfg"],"select":{"insert":false}}]}]}`,
	`{"id":41,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"b41"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b"]],["next_cfg","+=",1]]}]}`,
	`{"id":42,"method":"monitor","params":["Open_vSwitch",["v1w"],{"Bridge":{"columns":["name"],"where":[]}}]}`,
	`{"id":43,"method":"monitor_cond_change","params":[["v1"],["v1"],{"Bridge":[{"where":[]}]}]}`,
	`{"id":44,"method":"monitor_cond","params":["Open_vSwitch",["c0"],{"Bridge":[{"columns":[],"where":[["name","==","b41"]]}],"Port":[{"columns":[]}]}]}`,
	`{"id":45,"method":"monitor_cond","params":["Open_vSwitch",["c1"],{"Bridge":[{"columns":["name"],"where":[["nope","==","b41"]]}]}]}`,
	`{"id":46,"method":"monitor_cond","params":["Open_vSwitch",["c2"],{"Bridge":[{"columns":["name"],"select":{"bogus":true}}]}]}`,
	`{"id":47,"method":"monitor_cond","params":["Open_vSwitch",["c3"],{"Bridge":[{"columns":["name","name"]}]}]}`,
	`{"id":48,"method":"monitor_cond_change","params":[["nope"],["nope2"],{"Bridge":[{"where":[]}]}]}`,
	`{"id":49,"method":"monitor_cond_change","params":[["c0"],["c0"],{"Bridge":[{"columns":["name"]}]}]}`,
	`{"id":50,"method":"monitor_cancel","params":[["c0"]]}`,
	`{"id":51,"method":"get_server_id","params":[]}`,
	`{"id":52,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Bridge","where":[["name","==","b41"]],"row":{}},{"op":"mutate","table":"Bridge","where":[["name","==","b41"]],"mutations":[]},{"op":"comment","comment":5}]}`,
	`{"id":53,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid-name":"1bad","row":{"name":"z"}}]}`,
	`{"id":54,"method":"transact","params":["Open_vSwitch",{"op":"insert","table":"Bridge","uuid":"nope","row":{"name":"z"}}]}`,
	`{"id":55,"method":"transact","params":["Open_vSwitch",{"op":"wait","table":"Bridge","where":[],"columns":["name"],"rows":[{"nope":1}],"until":"==","timeout":0}]}`,
	`{"id":56,"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[["name","==","b41"]],"columns":["name","_version","_uuid"]},{"op":"delete","table":"Bridge","where":[["name","==","nothing"]]}]}`,
	`{"id":57,"method":"transact","params":["Open_vSwitch",{"op":"update","table":"Bridge","where":[["name","==","b41"]],"row":{"_version":["uuid","2c1e5d4e-1111-2222-3333-444455556666"]}}]}`,
	`{"id":58,"method":"echo","params":[]}`,
	`{"id":59,"method":"monitor_cond","params":["Open_vSwitch",["or"],{"Bridge":[{"columns":["name"],"where":[["name","==","br0"],["name","==","b41"]]}]}]}`,
	`{"id":60,"method":"monitor_cond","params":["Open_vSwitch",["f"],{"Bridge":[{"columns":["name"],"where":[false,["name","==","nope"]]}]}]}`,
	`{"id":61,"method":"monitor_cond","params":["Open_vSwitch",["e"],{"Bridge":[{"columns":["name"],"where":[]}]}]}`,
	`{"id":62,"method":"monitor_cond_change","params":[["f"],["f"],{"Bridge":[{"where":[["name","==","br0"],true]}]}]}`,
	`{"id":27,"method":"transact","params":["Open_vSwitch",{"op":"delete","table":"Bridge","where":[["name","==","b9"]]},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","delete",["set",[]]]]}]}`,
}

func TestProtocolDifferential(t *testing.T) {
	real := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitchSchema(), NoInit: true})
	ours := "unix:" + ovsdbtest.Start(t)
	var convs [2][]string
	for i, sock := range []string{real.Sock, ours} {
		ovstest.Vsctl(t, sock, "--no-wait", "init", "--", "add-br", "br0").Check(t)
		rc := dialRaw(t, sock)
		n := normalizer{}
		for _, req := range protocolScript {
			for _, m := range rc.call(req) {
				// Transaction ids differ by design: Debian's standalone server
				// keeps one id, ours names every commit (for resumption).
				m = txnIDRE.ReplaceAllString(m, "${1}<txn>")
				convs[i] = append(convs[i], unorderedJSON(n.apply(m)))
			}
		}
	}
	for i := 0; i < max(len(convs[0]), len(convs[1])); i++ {
		var w, g string
		if i < len(convs[0]) {
			w = convs[0][i]
		}
		if i < len(convs[1]) {
			g = convs[1][i]
		}
		if w != g {
			t.Errorf("message %d:\nDebian: %s\nours:   %s", i, w, g)
		}
	}
}

var txnIDRE = regexp.MustCompile(`("update3","params":\[[^,]*,"|"result":\[(?:true|false),")[0-9a-f-]{36}`)

// unorderedJSON re-encodes a message with sorted object members and sorted
// set and map elements, so that neither hash order nor the order of
// (differing) UUIDs matters.
func unorderedJSON(s string) string {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return s
	}
	b, _ := json.Marshal(sortSets(v))
	return string(b)
}

func sortSets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortSets(e)
		}
	case []any:
		for i, e := range x {
			x[i] = sortSets(e)
		}
		if len(x) == 2 && (x[0] == "set" || x[0] == "map") {
			if elems, ok := x[1].([]any); ok {
				sort.Slice(elems, func(i, j int) bool {
					a, _ := json.Marshal(elems[i])
					b, _ := json.Marshal(elems[j])
					return string(a) < string(b)
				})
			}
		}
	}
	return v
}

func TestLockSteal(t *testing.T) {
	for _, srv := range []struct {
		name string
		sock func() string
	}{
		{"debian", func() string {
			return ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitchSchema(), NoInit: true}).Sock
		}},
		{"ours", func() string { return "unix:" + ovsdbtest.Start(t) }},
	} {
		t.Run(srv.name, func(t *testing.T) {
			sock := srv.sock()
			a, b := dialRaw(t, sock), dialRaw(t, sock)
			expect := func(got []string, want ...string) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
			expect(a.call(`{"id":1,"method":"lock","params":["L"]}`), `{"id":1,"result":{"locked":true},"error":null}`)
			expect(b.call(`{"id":1,"method":"lock","params":["L"]}`), `{"id":1,"result":{"locked":false},"error":null}`)
			expect(a.call(`{"id":2,"method":"unlock","params":["L"]}`), `{"id":2,"result":{},"error":null}`)
			expect([]string{b.next(5 * time.Second)}, `{"id":null,"method":"locked","params":["L"]}`)
			expect(a.call(`{"id":3,"method":"steal","params":["L"]}`), `{"id":3,"result":{"locked":true},"error":null}`)
			expect([]string{b.next(5 * time.Second)}, `{"id":null,"method":"stolen","params":["L"]}`)
			expect(b.call(`{"id":4,"method":"transact","params":["Open_vSwitch",{"op":"assert","lock":"L"}]}`),
				`{"id":4,"result":[{"details":"Asserted lock L not held.","error":"not owner"}],"error":null}`)
			a.c.Close() // the owner goes away: the waiting victim gets the lock
			expect([]string{b.next(5 * time.Second)}, `{"id":null,"method":"locked","params":["L"]}`)
			expect(b.call(`{"id":5,"method":"transact","params":["Open_vSwitch",{"op":"assert","lock":"L"}]}`),
				`{"id":5,"result":[{}],"error":null}`)
		})
	}
}
