package ovsdb

import (
	"os"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

const debianSchema = "/usr/share/openvswitch/vswitch.ovsschema"

// canonical returns the schema's OVS JSON form with sorted members.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	s, err := ParseSchema(data)
	if err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	v, err := ParseJSON(s.AppendJSON(nil))
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	return JSONString(v)
}

func TestEmbeddedSchemaMatchesDebian(t *testing.T) {
	deb, err := os.ReadFile(debianSchema)
	testutil.Require(t, err == nil, "Debian's vswitch.ovsschema: %v", err)
	if a, b := canonical(t, vswitch.SchemaJSON), canonical(t, deb); a != b {
		t.Fatalf("embedded schema differs from %s", debianSchema)
	}
}

func TestSchemaDetails(t *testing.T) {
	s, err := ParseSchema(vswitch.SchemaJSON)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Open_vSwitch" || s.Version != "8.3.1" || s.Cksum != "3012963480 26720" {
		t.Fatalf("header %s %s %s", s.Name, s.Version, s.Cksum)
	}
	ovs := s.Table("Open_vSwitch")
	if !ovs.IsRoot || ovs.MaxRows != 1 || s.Table("Bridge").IsRoot || !s.Table("QoS").IsRoot {
		t.Errorf("isRoot/maxRows wrong")
	}
	if c := s.Table("Bridge").Column("name"); c.Mutable || c.Type.Key.Type != TypeString {
		t.Errorf("Bridge.name should be an immutable string")
	}
	if c := s.Table("Mirror").Column("select_src_port"); !c.Type.Key.IsWeakRef() || c.Type.Max != Unlimited {
		t.Errorf("Mirror.select_src_port should be a weak set")
	}
	if c := s.Table("Bridge").Column("flood_vlans"); c.Type.Key.MinInteger != 0 || c.Type.Key.MaxInteger != 4095 || c.Type.Max != 4096 {
		t.Errorf("flood_vlans constraints %+v", c.Type)
	}
	if c := s.Table("Interface").Column("statistics"); !c.Ephemeral {
		t.Errorf("Interface.statistics should be ephemeral")
	}
	if idx := s.Table("Flow_Sample_Collector_Set").Indexes; len(idx) != 1 || len(idx[0]) != 2 {
		t.Errorf("Flow_Sample_Collector_Set indexes %v", idx)
	}
	srv := ServerSchema()
	if got := string(srv.AppendJSON(nil)); !strings.Contains(got, `"model":{"type":{"key":{"type":"string","enum":["set",["clustered","relay","standalone"]]}}}`) {
		t.Errorf("_Server schema JSON %s", got)
	}
	if !srv.Table("Database").IsRoot {
		t.Errorf("_Server tables are all root (no isRoot anywhere)")
	}
}

func TestBadSchemas(t *testing.T) {
	for _, tt := range []struct{ name, json, want string }{
		{"not object", `[]`, "schema is not an object"},
		{"no tables", `{"name":"x"}`, "Required 'tables' member is missing."},
		{"bad name", `{"name":"1x","tables":{}}`, "not a valid identifier"},
		{"bad version", `{"name":"x","version":"1.2","tables":{}}`, "x.y.z"},
		{"reserved table", `{"name":"x","tables":{"_t":{"columns":{"a":{"type":"string"}}}}}`, "reserved"},
		{"no columns", `{"name":"x","tables":{"t":{"columns":{}}}}`, "non-empty"},
		{"reserved column", `{"name":"x","tables":{"t":{"columns":{"_a":{"type":"string"}}}}}`, "reserved"},
		{"bad type", `{"name":"x","tables":{"t":{"columns":{"a":{"type":"float"}}}}}`, "unknown atomic type"},
		{"min>max", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":"string","min":1,"max":0}}}}}}`, "max must be"},
		{"bad min", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":"string","min":2,"max":3}}}}}}`, "min must be 0 or 1"},
		{"range", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":{"type":"integer","minInteger":5,"maxInteger":1}}}}}}}`, "minInteger exceeds"},
		{"ref", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"u"}}}}}}}`, "undefined table"},
		{"refType", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":{"type":"uuid","refTable":"t","refType":"soft"}}}}}}}`, "refType"},
		{"misplaced", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":{"type":"string","minInteger":1}}}}}}}`, "not allowed here"},
		{"index", `{"name":"x","tables":{"t":{"columns":{"a":{"type":"string"}},"indexes":[["b"]]}}}`, "unknown column"},
		{"ephemeral index", `{"name":"x","tables":{"t":{"columns":{"a":{"type":"string","ephemeral":true}},"indexes":[["a"]]}}}`, "ephemeral"},
		{"maxRows", `{"name":"x","tables":{"t":{"columns":{"a":{"type":"string"}},"maxRows":0}}}`, "maxRows"},
		{"enum type", `{"name":"x","tables":{"t":{"columns":{"a":{"type":{"key":{"type":"integer","enum":"a"}}}}}}}`, "expected integer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchema([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSchemaRoundTrip(t *testing.T) {
	src := `{"name":"t","version":"1.0.0","tables":{` +
		`"A":{"columns":{"i":{"type":{"key":{"type":"integer","minInteger":1,"maxInteger":9},"min":0,"max":"unlimited"}},` +
		`"r":{"type":{"key":{"type":"real","minReal":0.5}}},"s":{"type":{"key":{"type":"string","minLength":1,"maxLength":3}},"mutable":false},` +
		`"e":{"type":{"key":{"type":"string","enum":"only"}}},"m":{"type":{"key":"string","value":{"type":"uuid","refTable":"B","refType":"weak"},"max":5}},` +
		`"x":{"type":"boolean","ephemeral":true}},"isRoot":true,"maxRows":3,"indexes":[["s","e"]]},` +
		`"B":{"columns":{"b":{"type":"uuid"}}}}}`
	s, err := ParseSchema([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseSchema(s.AppendJSON(nil))
	if err != nil {
		t.Fatalf("reparse %s: %v", s.AppendJSON(nil), err)
	}
	if a, b := string(s.AppendJSON(nil)), string(again.AppendJSON(nil)); a != b {
		t.Fatalf("round trip differs:\n%s\n%s", a, b)
	}
	v1, _ := ParseJSON([]byte(src))
	v2, _ := ParseJSON(s.AppendJSON(nil))
	if JSONString(v1) != JSONString(v2) {
		t.Errorf("printed schema differs from source:\n%s\n%s", JSONString(v1), JSONString(v2))
	}
}
