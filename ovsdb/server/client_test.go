package server_test

import (
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

// transactScript holds raw transactions run in order against both servers
// (each starting from "ovs-vsctl init; add-br br0; add-port br0 p1");
// results must match after UUID normalisation.
var transactScript = []string{
	`[{"op":"insert","table":"Nope","row":{}}]`,
	`[{"op":"insert","row":{}}]`,
	`[{"op":"insert","table":5}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x"},"bogus":1}]`,
	`[{"op":"insert","table":"Bridge","row":{"nope":1}}]`,
	`[{"op":"frob","table":"Bridge"}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":1}}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x","fail_mode":"bad"}}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x","flood_vlans":5000}}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x","flood_vlans":["set",[1,1]]}}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x","fail_mode":["set",["secure","standalone"]]}}]`,
	`[{"op":"update","table":"Bridge","where":[],"row":{"name":"x"}}]`,
	`[{"op":"update","table":"Bridge","where":[],"row":{"_uuid":["uuid","00000000-0000-0000-0000-000000000000"]}}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["name","insert","x"]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","frob","x"]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","+=",1]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","insert",["set",[1,2,3]]]]},{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","+=",4000]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","insert",["set",[1,2,3]]]]},{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","*=",0]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["flood_vlans","/=",0]]}]`,
	`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",9223372036854775807]]},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",9223372036854775807]]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["a","1"],["b","2"]]]]]},{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["a","9"],["c","3"]]]]]},{"op":"select","table":"Bridge","where":[],"columns":["external_ids"]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","delete",["map",[["a","9"],["b","2"]]]]]},{"op":"select","table":"Bridge","where":[],"columns":["external_ids"]}]`,
	`[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","delete",["set",["a","zz"]]]]},{"op":"select","table":"Bridge","where":[],"columns":["external_ids"]}]`,
	`[{"op":"select","table":"Bridge","where":[["name","<","x"]]}]`,
	`[{"op":"select","table":"Bridge","where":[["nope","==","x"]]}]`,
	`[{"op":"select","table":"Bridge","where":[["name","===","x"]]}]`,
	`[{"op":"select","table":"Bridge","where":[["name","=="]]}]`,
	`[{"op":"select","table":"Bridge","where":[],"columns":["nope"]}]`,
	`[{"op":"select","table":"Bridge","where":[["name","==","br0"],["stp_enable","==",false],true],"columns":["name","stp_enable"]}]`,
	`[{"op":"select","table":"Bridge","where":[["external_ids","includes",["map",[["c","3"]]]]],"columns":["name"]}]`,
	`[{"op":"select","table":"Bridge","where":[["external_ids","excludes",["map",[["c","3"]]]]],"columns":["name"]}]`,
	`[{"op":"select","table":"Interface","where":[["ofport","<",5]],"columns":["name"]}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"x","ports":["named-uuid","p"]}}]`,
	`[{"op":"insert","table":"Open_vSwitch","row":{"bridges":["uuid","2c1e5d4e-1111-2222-3333-444455556666"]}}]`,
	`[{"op":"insert","table":"Open_vSwitch","row":{}}]`,
	`[{"op":"insert","table":"Open_vSwitch","uuid-name":"a","row":{}},{"op":"insert","table":"Open_vSwitch","uuid-name":"a","row":{}}]`,
	`[{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p"}},{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"b","ports":["named-uuid","p"]}}]`,
	`[{"op":"insert","table":"Bridge","row":{"name":"br0"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","nb"]]]]]}]`,
	`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","nb"]]]]]},{"op":"insert","table":"Bridge","uuid-name":"nb","row":{"name":"br0"}}]`,
	`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","nb"]]]]]},{"op":"insert","table":"Bridge","uuid-name":"nb","row":{"name":"fwd"}},{"op":"select","table":"Bridge","where":[["_uuid","==",["named-uuid","nb"]]],"columns":["name"]}]`,
	`[{"op":"select","table":"Bridge","where":[],"columns":["name"]}]`,
	`[{"op":"wait","table":"Bridge","where":[["name","==","fwd"]],"rows":[{"name":"fwd"}],"columns":["name"],"until":"==","timeout":0}]`,
	`[{"op":"wait","table":"Bridge","where":[["name","==","fwd"]],"rows":[{"name":"zz"}],"columns":["name"],"until":"==","timeout":0}]`,
	`[{"op":"wait","table":"Bridge","where":[["name","==","fwd"]],"rows":[{"name":"zz"}],"columns":["name"],"until":"!=","timeout":0}]`,
	`[{"op":"wait","table":"Bridge","where":[],"rows":[],"until":"~","timeout":0}]`,
	`[{"op":"delete","table":"Open_vSwitch","where":[]}]`,
	`[{"op":"delete","table":"Bridge","where":[["name","==","fwd"]]}]`,
	`[{"op":"insert","table":"QoS","uuid-name":"q","row":{"type":"x"}},{"op":"update","table":"Port","where":[["name","==","p1"]],"row":{"qos":["named-uuid","q"]}}]`,
	`[{"op":"delete","table":"QoS","where":[]}]`,
	`[{"op":"insert","table":"Mirror","uuid-name":"m","row":{"name":"m","select_src_port":["set",[["uuid","2c1e5d4e-1111-2222-3333-444455556666"]]]}},{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["mirrors","insert",["set",[["named-uuid","m"]]]]]}]`,
	`[{"op":"select","table":"Mirror","where":[],"columns":["name","select_src_port"]}]`,
	`[{"op":"abort"},{"op":"comment","comment":"x"}]`,
	`[{"op":"assert","lock":"foo"}]`,
	`[{"op":"commit","durable":false},{"op":"comment","comment":"x"}]`,
	`[{"op":"commit"}]`,
	`[{"op":"insert","table":"Interface","uuid":"2c1e5d4e-1111-2222-3333-444455556666","uuid-name":"i","row":{"name":"ii"}},{"op":"insert","table":"Port","uuid-name":"pp","row":{"name":"pp","interfaces":["named-uuid","i"]}},{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["ports","insert",["named-uuid","pp"]]]},{"op":"select","table":"Interface","where":[["name","==","ii"]],"columns":["_uuid","name"]}]`,
	`[{"op":"insert","table":"Interface","uuid":"2c1e5d4e-1111-2222-3333-444455556666","row":{"name":"ij"}}]`,
	`[{"op":"insert","table":"Port","uuid-name":"pq","row":{"name":"p1","interfaces":["uuid","2c1e5d4e-1111-2222-3333-444455556666"]}},{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],"mutations":[["ports","insert",["named-uuid","pq"]]]}]`,
	`[{"op":"select","table":"Port","where":[["name","==","p1"]],"columns":["name","_version"]}]`,
	`[]`,
}

func TestTransactDifferential(t *testing.T) {
	real := ovstest.StartOVSDBServer(t, &ovstest.Options{SchemaJSON: vswitchSchema(), NoInit: true})
	ours := "unix:" + ovsdbtest.Start(t)
	for _, sock := range []string{real.Sock, ours} {
		ovstest.Vsctl(t, sock, "--no-wait", "init", "--", "add-br", "br0", "--", "add-port", "br0", "p1").Check(t)
	}
	nReal, nOurs := normalizer{}, normalizer{}
	for _, txn := range transactScript {
		req := `["Open_vSwitch",` + strings.TrimPrefix(txn, "[")
		want := ovstest.OvsdbClient(t, "transact", real.Sock, req)
		got := ovstest.OvsdbClient(t, "transact", ours, req)
		ws := canonIndexErr(sortRows(nReal.apply(want.Stdout + want.Stderr)))
		gs := canonIndexErr(sortRows(nOurs.apply(got.Stdout + got.Stderr)))
		if strings.Contains(txn, `"_version"`) {
			ws, gs = unordered(ws), unordered(gs)
		}
		if ws != gs || want.ExitCode != got.ExitCode {
			t.Errorf("transact %s:\nDebian (exit %d): %s\nours   (exit %d): %s", txn, want.ExitCode, ws, got.ExitCode, gs)
		}
	}
	// Both databases must now hold the same contents.
	want := ovstest.OvsdbClient(t, "dump", real.Sock, "Open_vSwitch").Check(t)
	got := ovstest.OvsdbClient(t, "dump", ours, "Open_vSwitch").Check(t)
	if unordered(want) != unordered(got) {
		t.Errorf("dump differs:\nDebian:\n%s\nours:\n%s", want, got)
	}
}
