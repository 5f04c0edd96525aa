package ovsdb

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`[{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"x","ports":["named-uuid","p"]}},{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p","interfaces":["named-uuid","i"]}},{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"i"}},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","b"]]]]]}]`,
	`[{"op":"update","table":"Bridge","where":[["name","==","br0"]],"row":{"external_ids":["map",[["a","b"]]],"flood_vlans":["set",[1,2]]}}]`,
	`[{"op":"mutate","table":"Bridge","where":[["_uuid","==",["named-uuid","x"]]],"mutations":[["flood_vlans","+=",1],["external_ids","delete",["set",["a"]]]]}]`,
	`[{"op":"delete","table":"Bridge","where":[["flood_vlans","includes",1]]},{"op":"select","table":"Port","where":[true],"columns":["name"]}]`,
	`[{"op":"wait","table":"Bridge","where":[],"columns":["name"],"rows":[{"name":"br0"}],"until":"!=","timeout":0},{"op":"comment","comment":"c"},{"op":"commit","durable":false}]`,
	`[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","*=",-1],["next_cfg","%=",7]]},{"op":"abort"}]`,
	`[{"op":"insert","table":"Mirror","row":{"name":"m","select_src_port":["uuid","2c1e5d4e-1111-2222-3333-444455556666"]}}]`,
	`[{"op":"select","table":"Interface","where":[["ofport","<=",3],["ofport",">",["set",[]]]]}]`,
	`[1, {"op":5}, {"op":"insert"}]`,
}

func fuzzDB(t testing.TB) *Database {
	db := newVswitchDB(t)
	transact(t, db, `[{"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}},
		{"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["named-uuid","p"]}},
		{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0","interfaces":["named-uuid","i"]}},
		{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"br0","type":"internal"}}]`)
	return db
}

// FuzzTransact feeds arbitrary operation arrays to a small vswitch
// database: no input may panic, and a transaction that reports an error
// must leave the database unchanged.
func FuzzTransact(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ops string) {
		v, err := ParseJSON([]byte(ops))
		if err != nil {
			return
		}
		arr, ok := v.([]any)
		if !ok {
			return
		}
		db := fuzzDB(t)
		before := string(db.SnapshotJSONForTest())
		res := db.Transact(arr, TxnOptions{})
		if res.Blocked {
			return
		}
		if res.Err != nil {
			if after := string(db.SnapshotJSONForTest()); after != before {
				t.Fatalf("failed transaction changed the database: %s", res.Reply)
			}
		}
		if _, err := ParseJSON(res.Reply); err != nil {
			t.Fatalf("reply is not JSON: %s", res.Reply)
		}
		// Every committed state must reload identically from its snapshot.
		db.RLock()
		snap := db.SnapshotLocked()
		db.RUnlock()
		db2 := NewDatabase(db.Schema)
		db2.Lock()
		if err := db2.ReplayLocked(snap, false); err != nil {
			t.Fatalf("replay snapshot: %v", err)
		}
		db2.Unlock()
		if string(db2.SnapshotJSONForTest()) != string(db.SnapshotJSONForTest()) {
			t.Fatalf("snapshot did not round-trip")
		}
	})
}

var datumTypes = []string{
	`"integer"`, `"real"`, `"boolean"`, `"string"`, `"uuid"`,
	`{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":4096}`,
	`{"key":"string","value":"string","min":0,"max":"unlimited"}`,
	`{"key":{"type":"string","enum":["set",["a","b"]]},"min":0,"max":1}`,
	`{"key":"integer","value":{"type":"uuid","refTable":"T"},"min":0,"max":"unlimited"}`,
}

// FuzzDatum parses arbitrary JSON as datums of several types: accepted
// datums must print and parse back to themselves, and diffs must apply.
func FuzzDatum(f *testing.F) {
	for i, s := range []string{`1`, `["set",[1,2]]`, `["map",[["a","b"]]]`, `["uuid","2c1e5d4e-1111-2222-3333-444455556666"]`,
		`"a"`, `2.5`, `true`, `["set",[]]`, `["map",[[1,["uuid","2c1e5d4e-1111-2222-3333-444455556666"]]]]`} {
		f.Add(uint8(i), s, `["set",[3]]`)
	}
	f.Fuzz(func(t *testing.T, ti uint8, a, b string) {
		ty := mustTypeF(datumTypes[int(ti)%len(datumTypes)])
		d1, ok := parseDatumF(ty, a)
		if !ok {
			return
		}
		text := string(d1.AppendJSON(nil, ty))
		back, ok := parseDatumF(ty, text)
		if !ok || !back.Equal(&d1) {
			t.Fatalf("%s: printed %s does not parse back", a, text)
		}
		_ = d1.String(ty)
		d2, ok := parseDatumF(ty, b)
		if !ok {
			return
		}
		diff := Diff(ty, &d1, &d2)
		if got := ApplyDiff(ty, &d1, &diff); !got.Equal(&d2) && !(len(got.Keys) == 0 && len(d2.Keys) == 0) {
			t.Fatalf("apply(%s, diff(%s, %s)) = %s", a, a, b, got.AppendJSON(nil, ty))
		}
	})
}

func mustTypeF(js string) *Type {
	v, _ := ParseJSON([]byte(js))
	ty, err := typeFromJSON(v)
	if err != nil {
		panic(err)
	}
	return &ty
}

func parseDatumF(ty *Type, s string) (Datum, bool) {
	if strings.TrimSpace(s) == "" {
		return Datum{}, false
	}
	v, err := ParseJSON([]byte(s))
	if err != nil {
		return Datum{}, false
	}
	d, e := DatumFromJSON(ty, v, Symbols{})
	return d, e == nil
}

// FuzzParseJSON checks the JSON decoder against encoding/json: whatever
// both accept must decode to the same value.
func FuzzParseJSON(f *testing.F) {
	for _, s := range append(fuzzSeeds, `{"a":"\u00e9\ud83d\ude00\n","b":[1.5e3,-0,true,null]}`, `"\ud800"`, `[1,]`,
		`[{"a":"x","a":"y","b":["x","x",1,1,1.0,"1"],"c":{"x":[],"y":[[]]}},"\u0078","x"]`) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseJSON([]byte(s))
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var want any
		werr := dec.Decode(&want)
		if werr == nil && dec.More() {
			werr = errors.New("trailing data")
		}
		if err == nil && werr != nil {
			t.Fatalf("accepted %q, encoding/json says %v", s, werr)
		}
		if err == nil && JSONString(got) != JSONString(want) {
			t.Fatalf("%q: got %s, want %s", s, JSONString(got), JSONString(want))
		}
		// The same with the cache big messages use.
		got2, err2 := parseJSONCache([]byte(s), true)
		if (err2 == nil) != (err == nil) || (err == nil && JSONString(got2) != JSONString(got)) {
			t.Fatalf("%q: with cache %s (%v), without %s (%v)", s, JSONString(got2), err2, JSONString(got), err)
		}
	})
}

// FuzzMonitor parses arbitrary monitor requests and condition changes and
// computes initial contents and updates with them.
func FuzzMonitor(f *testing.F) {
	for _, s := range []string{
		`{"Bridge":{"columns":["name","ports"]},"Port":[{"columns":[]},{"columns":["name"],"select":{"initial":false}}]}`,
		`{"Interface":[{"where":[["name","==","br0"],["ofport","<",3]],"columns":["name","type"]}]}`,
		`{"Open_vSwitch":{}}`,
	} {
		f.Add(s, uint8(2), `{"Interface":[{"where":[true]}]}`)
	}
	f.Fuzz(func(t *testing.T, req string, version uint8, change string) {
		v, err := ParseJSON([]byte(req))
		if err != nil {
			return
		}
		db := fuzzDB(t)
		m, perr := ParseMonitor(db.Schema, v, int(version%3)+1)
		if perr != nil {
			return
		}
		db.Lock()
		_ = m.Initial(db)
		if cv, err := ParseJSON([]byte(change)); err == nil {
			_, _ = m.ChangeConditions(db, cv)
		}
		db.Unlock()
		var cm *Commit
		db.OnCommit(func(c *Commit) { cm = c })
		transact(t, db, fuzzSeeds[0])
		if cm != nil {
			if u := m.Update([]*Commit{cm}); u != nil {
				if _, err := ParseJSON(u); err != nil {
					t.Fatalf("update is not JSON: %s", u)
				}
			}
		}
	})
}
