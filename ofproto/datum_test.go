package ofproto

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// The reference decoders: plain encoding/json, as datum.go did before its
// fast paths. The fast ones must agree with them on every valid datum.

func refSetElems(raw json.RawMessage) []json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil && len(arr) == 2 {
		var tag string
		if json.Unmarshal(arr[0], &tag) == nil {
			switch tag {
			case "set":
				var elems []json.RawMessage
				_ = json.Unmarshal(arr[1], &elems)
				return elems
			case "uuid", "named-uuid":
				return []json.RawMessage{raw}
			}
		}
	}
	return []json.RawMessage{raw}
}

func refString(raw json.RawMessage) (string, bool) {
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func refInt(raw json.RawMessage) (int64, bool) {
	var n int64
	return n, json.Unmarshal(raw, &n) == nil
}

func refUUID(raw json.RawMessage) (string, bool) {
	var arr []string
	if json.Unmarshal(raw, &arr) == nil && len(arr) == 2 && arr[0] == "uuid" {
		return arr[1], true
	}
	return "", false
}

func refMap(raw json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil || len(arr) != 2 {
		return nil
	}
	var pairs [][2]json.RawMessage
	if json.Unmarshal(arr[1], &pairs) != nil {
		return nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, ok1 := refString(p[0])
		v, ok2 := refString(p[1])
		if ok1 && ok2 {
			out[k] = v
		}
	}
	return out
}

// compact re-encodes raw elements so that whitespace differences between
// the two splitters do not count.
func compact(t *testing.T, elems []json.RawMessage) []string {
	out := []string{}
	for _, e := range elems {
		var b bytes.Buffer
		if err := json.Compact(&b, e); err != nil {
			t.Fatalf("element %q is not JSON: %v", e, err)
		}
		out = append(out, b.String())
	}
	return out
}

func checkDatum(t *testing.T, in string) {
	raw := json.RawMessage(in)
	if !json.Valid(raw) {
		return
	}
	if got, want := compact(t, setElems(raw)), compact(t, refSetElems(raw)); !reflect.DeepEqual(got, want) {
		t.Errorf("setElems(%s) = %q, want %q", in, got, want)
	}
	s, ok := atomString(raw)
	rs, rok := refString(raw)
	if s != rs || ok != rok {
		t.Errorf("atomString(%s) = %q %v, want %q %v", in, s, ok, rs, rok)
	}
	n, ok := atomInt(raw)
	rn, rok := refInt(raw)
	if n != rn || ok != rok {
		t.Errorf("atomInt(%s) = %d %v, want %d %v", in, n, ok, rn, rok)
	}
	u, ok := atomUUID(raw)
	ru, rok := refUUID(raw)
	if u != ru || ok != rok {
		t.Errorf("atomUUID(%s) = %q %v, want %q %v", in, u, ok, ru, rok)
	}
	r := Row{"c": raw}
	if got, want := r.colMap("c"), refMap(raw); (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Errorf("colMap(%s) = %v, want %v", in, got, want)
	}
	var refInts []int64
	for _, e := range refSetElems(raw) {
		if n, ok := refInt(e); ok {
			refInts = append(refInts, n)
		}
	}
	sort.Slice(refInts, func(i, j int) bool { return refInts[i] < refInts[j] })
	if got := r.colInts("c"); !reflect.DeepEqual(got, refInts) {
		t.Errorf("colInts(%s) = %v, want %v", in, got, refInts)
	}
}

var datumSamples = []string{
	`""`, `"eth0"`, `"a\"b"`, `"tab\tx"`, `"\u00e9t\u00e9"`, `"été"`, `"\ud800"`, "\"\xff\xfe\"", `"a\\b"`,
	`0`, `-1`, `42`, `9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `1.5`, `1e3`, `1E0`, `-0`, `01`,
	`true`, `null`, `{}`, `{"a":1}`, `[]`, `[1]`, `[ ]`,
	`["set",[]]`, `["set",[1,2,3]]`, `[ "set" , [ 3 , 1 , 2 ] ]`, `["set",["a","b,c","d]"]]`, `["set",[["uuid","x"],["uuid","y"]]]`,
	`["set",[1,"x",true,null,{"a":[1]}]]`, `["set","notarray"]`, `["set",{}]`, `["s\u0065t",[7]]`, `["set",[1],3]`,
	`["uuid","0e1e972e-17d5-464a-95e8-bd708319c706"]`, `["named-uuid","row1"]`, `["uuid",1]`, `["uuid"]`, `["uuid","a","b"]`,
	`["map",[]]`, `["map",[["k","v"]]]`, `["map",[["k","v"],["a","b"]]]`, `["map",[["k",1],["x","y"]]]`, `["map",[["k"]]]`,
	`["map",[["k","v","w"]]]`, `["map",{}]`, `["map",[["k\"q","v\\n"]]]`, `["map",[[1,2]]]`, `["map",[["k","v"],1]]`, `["map",[["k","v"],[]]]`, `["x",[["k","v"]]]`, `["map"]`,
	" [\"set\",\t[\n1 ,\r2]] ", `[[],[]]`, `[{"a":"]"},"b"]`, `["",""]`, `[""]`,
}

func TestDatumDecodersMatchEncodingJSON(t *testing.T) {
	for _, in := range datumSamples {
		checkDatum(t, in)
	}
}

func FuzzDatumDecoders(f *testing.F) {
	for _, in := range datumSamples {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// Invalid JSON never reaches these decoders (rows come from a
		// decoded message); they must still not panic on it.
		r := Row{"c": json.RawMessage(in)}
		_, _, _ = r.colString("c"), r.colMap("c"), r.colUUIDs("c")
		checkDatum(t, in)
	})
}

var updateSamples = []string{
	`{}`,
	`{"Interface":{}}`,
	`{"Interface":{"u1":{"new":{"name":"a","ofport":["set",[]],"options":["map",[["peer","b"]]]}}}}`,
	`{"Interface":{"u1":{"old":{"ofport":["set",[]]},"new":{"name":"a","ofport":3}}},"Open_vSwitch":{"r":{"old":{"cur_cfg":1},"new":{"cur_cfg":2,"next_cfg":2}}}}`,
	`{"Port":{"p1":{"old":{"name":"x"}},"p2":{"old":{"name":"y"},"new":null}}}`,
	` { "Bridge" : { "b" : { "new" : { "name" : "br0" , "ports" : [ "set" , [ [ "uuid" , "p1" ] ] ] } } } } `,
	`{"Bridge":{"b":{"new":{"name":"br\"0","other_config":["map",[["k","}{]["]]]}}}}`,
	`{"Br\u0069dge":{"b":{"new":{"name":"x"}}}}`,
	`{"Bridge":{"b":{"new":{"n\"ame":"x"}}}}`,
	`{"Bridge":{"b":{"new":{"name":"x"},"extra":[1,{"a":2}]}}}`,
	`{"Bridge":{"b":{"new":{}}}}`,
	`{"Bridge":[]}`, `[]`, `null`, `{"Bridge":{"b":[]}}`, `{"Bridge":{"b":{"new":[]}}}`, `{"Bridge":{"b":{"new":{"name":1,"name":2}}}}`,
}

// TestApplyUpdatesMatchesEncodingJSON checks the update scanner against
// encoding/json on the same input (both applied to an empty replica).
func TestApplyUpdatesMatchesEncodingJSON(t *testing.T) {
	for _, in := range updateSamples {
		checkUpdate(t, in)
	}
}

func checkUpdate(t *testing.T, in string) {
	if !json.Valid([]byte(in)) {
		return
	}
	var ref map[string]map[string]rowUpdate
	refErr := json.Unmarshal([]byte(in), &ref)
	got, ok := splitUpdates([]byte(in))
	if !ok {
		return // the caller falls back to encoding/json
	}
	if refErr != nil {
		t.Errorf("splitUpdates(%s) accepted what encoding/json refuses: %v", in, refErr)
		return
	}
	norm := func(u map[string]map[string]rowUpdate) string {
		b, _ := json.Marshal(u)
		var v any
		_ = json.Unmarshal(b, &v)
		b, _ = json.Marshal(v)
		return string(b)
	}
	if norm(got) != norm(ref) {
		t.Errorf("splitUpdates(%s) = %s, want %s", in, norm(got), norm(ref))
	}
	if _, err := applyUpdates(make(Tables), json.RawMessage(in)); err != nil {
		t.Errorf("applyUpdates(%s): %v", in, err)
	}
}

func FuzzSplitUpdates(f *testing.F) {
	for _, in := range updateSamples {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = applyUpdates(make(Tables), json.RawMessage(in))
		checkUpdate(t, in)
	})
}
