package ovsdb

import (
	"strings"
	"sync"
	"testing"

	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

var vswitchSchema = sync.OnceValues(func() (*Schema, error) { return ParseSchema(vswitch.SchemaJSON) })

func newVswitchDB(t testing.TB) *Database {
	t.Helper()
	s, err := vswitchSchema()
	if err != nil {
		t.Fatal(err)
	}
	return NewDatabase(s)
}

// transact runs a transaction given as a JSON array of operations and
// returns the reply text.
func transact(t testing.TB, db *Database, ops string) string {
	t.Helper()
	v, err := ParseJSON([]byte(ops))
	if err != nil {
		t.Fatalf("bad ops %s: %v", ops, err)
	}
	res := db.Transact(v.([]any), TxnOptions{})
	if err := res.Durable(); err != nil {
		t.Fatal(err)
	}
	return string(res.Reply)
}

func count(db *Database, table string) int {
	db.RLock()
	defer db.RUnlock()
	return db.RowCountLocked(table)
}

func TestGarbageCollection(t *testing.T) {
	db := newVswitchDB(t)
	transact(t, db, `[{"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}},
		{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["set",[["named-uuid","p1"],["named-uuid","p2"]]],"mirrors":["named-uuid","m"]}},
		{"op":"insert","table":"Port","uuid-name":"p1","row":{"name":"p1","interfaces":["named-uuid","i1"]}},
		{"op":"insert","table":"Port","uuid-name":"p2","row":{"name":"p2","interfaces":["named-uuid","i2"]}},
		{"op":"insert","table":"Interface","uuid-name":"i1","row":{"name":"i1"}},
		{"op":"insert","table":"Interface","uuid-name":"i2","row":{"name":"i2"}},
		{"op":"insert","table":"Mirror","uuid-name":"m","row":{"name":"m","select_src_port":["set",[["named-uuid","p1"],["named-uuid","p2"]]],"output_port":["named-uuid","p2"]}},
		{"op":"insert","table":"Interface","row":{"name":"orphan"}}]`)
	if count(db, "Interface") != 2 || count(db, "Port") != 2 || count(db, "Mirror") != 1 {
		t.Fatalf("unreferenced insert not collected or rows missing: %d %d", count(db, "Interface"), count(db, "Port"))
	}
	// Dropping p2 from the bridge collects p2 and i2 and removes the weak
	// references to p2 from the mirror.
	transact(t, db, `[{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",["set",[]]]]}]`)
	out := transact(t, db, `[{"op":"select","table":"Port","where":[["name","==","p2"]],"columns":["_uuid"]}]`)
	p2 := out[strings.Index(out, `["uuid"`) : strings.Index(out, `]}]}`)+1]
	transact(t, db, `[{"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete",`+p2+`]]}]`)
	if count(db, "Interface") != 1 || count(db, "Port") != 1 {
		t.Fatalf("GC did not cascade: %d interfaces, %d ports", count(db, "Interface"), count(db, "Port"))
	}
	got := transact(t, db, `[{"op":"select","table":"Mirror","where":[],"columns":["select_src_port","output_port"]}]`)
	if strings.Count(got, `"uuid"`) != 1 || !strings.Contains(got, `"output_port":["set",[]]`) {
		t.Fatalf("weak references not removed: %s", got)
	}
	// Deleting the bridge collects everything below it.
	transact(t, db, `[{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}]`)
	for _, tb := range []string{"Bridge", "Port", "Interface", "Mirror"} {
		if n := count(db, tb); n != 0 {
			t.Errorf("%d %s rows left", n, tb)
		}
	}
}

func TestWeakRefMin(t *testing.T) {
	s, err := ParseSchema([]byte(`{"name":"w","tables":{
		"A":{"columns":{"r":{"type":{"key":{"type":"uuid","refTable":"B","refType":"weak"},"min":1,"max":2}}},"isRoot":true},
		"B":{"columns":{"n":{"type":"integer"}},"isRoot":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	db := NewDatabase(s)
	transact(t, db, `[{"op":"insert","table":"B","uuid-name":"b","row":{"n":1}},{"op":"insert","table":"A","row":{"r":["named-uuid","b"]}}]`)
	got := transact(t, db, `[{"op":"delete","table":"B","where":[]}]`)
	if !strings.Contains(got, `caused this column to become empty`) || count(db, "B") != 1 {
		t.Fatalf("weak min violation: %s", got)
	}
}

func TestNoRootMeansAllRoot(t *testing.T) {
	s, err := ParseSchema([]byte(`{"name":"n","tables":{"A":{"columns":{"n":{"type":"integer"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	db := NewDatabase(s)
	transact(t, db, `[{"op":"insert","table":"A","row":{"n":1}}]`)
	if count(db, "A") != 1 {
		t.Fatal("row of the only table was collected")
	}
}

func TestAtomicity(t *testing.T) {
	db := newVswitchDB(t)
	transact(t, db, `[{"op":"insert","table":"Open_vSwitch","row":{}}]`)
	before := string(db.SnapshotJSONForTest())
	for _, ops := range []string{
		`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"abort"}]`,
		`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"insert","table":"Open_vSwitch","row":{}}]`,
		`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"insert","table":"Bridge","row":{"name":5}}]`,
		`[{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["uuid","2c1e5d4e-1111-2222-3333-444455556666"]}}]`,
	} {
		transact(t, db, ops)
		if after := string(db.SnapshotJSONForTest()); after != before {
			t.Fatalf("%s changed the database", ops)
		}
	}
}

// TestIndexLookup checks "==" on an index (Manager.target, mutable) against
// rows changed within the same transaction.
func TestIndexLookup(t *testing.T) {
	db := newVswitchDB(t)
	transact(t, db, `[{"op":"insert","table":"Open_vSwitch","row":{"manager_options":["set",[["named-uuid","a"],["named-uuid","b"]]]}},
		{"op":"insert","table":"Manager","uuid-name":"a","row":{"target":"ptcp:1"}},
		{"op":"insert","table":"Manager","uuid-name":"b","row":{"target":"ptcp:2"}}]`)
	got := transact(t, db, `[{"op":"update","table":"Manager","where":[["target","==","ptcp:1"]],"row":{"target":"ptcp:3"}},
		{"op":"select","table":"Manager","where":[["target","==","ptcp:1"]],"columns":["target"]},
		{"op":"select","table":"Manager","where":[["target","==","ptcp:3"]],"columns":["target"]},
		{"op":"select","table":"Manager","where":[["target","==","ptcp:2"],["max_backoff","==",["set",[]]]],"columns":["target"]},
		{"op":"select","table":"Manager","where":[["target","==","ptcp:2"],["max_backoff","==",1000]],"columns":["target"]}]`)
	want := `[{"count":1},{"rows":[]},{"rows":[{"target":"ptcp:3"}]},{"rows":[{"target":"ptcp:2"}]},{"rows":[]}]`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if got := transact(t, db, `[{"op":"select","table":"Manager","where":[["target","==","ptcp:3"]],"columns":["target"]}]`); got != `[{"rows":[{"target":"ptcp:3"}]}]` {
		t.Fatalf("after commit: %s", got)
	}
}
