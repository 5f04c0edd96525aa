package ofproto

import (
	"encoding/json"
	"sort"
)

// OVSDB datum decoding (RFC 7047 §5.1) for the few column types ofproto
// reads. Malformed values decode as the column's empty value: a bad row must
// never stop the reconciler.

// setElems returns a datum's atoms: ["set",[...]] or a single atom.
func setElems(raw json.RawMessage) []json.RawMessage {
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

func atomString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

func atomInt(raw json.RawMessage) (int64, bool) {
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	return 0, false
}

func atomUUID(raw json.RawMessage) (string, bool) {
	var arr []string
	if json.Unmarshal(raw, &arr) == nil && len(arr) == 2 && arr[0] == "uuid" {
		return arr[1], true
	}
	return "", false
}

// colString reads a string column (or an optional string: first element).
func (r Row) colString(col string) string {
	for _, e := range setElems(r[col]) {
		if s, ok := atomString(e); ok {
			return s
		}
	}
	return ""
}

// colInt reads an optional integer column; ok is false when empty.
func (r Row) colInt(col string) (int64, bool) {
	for _, e := range setElems(r[col]) {
		if n, ok := atomInt(e); ok {
			return n, true
		}
	}
	return 0, false
}

// colInts reads a set of integers, sorted.
func (r Row) colInts(col string) []int64 {
	var out []int64
	for _, e := range setElems(r[col]) {
		if n, ok := atomInt(e); ok {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// colUUIDs reads a set of uuids.
func (r Row) colUUIDs(col string) []string {
	var out []string
	for _, e := range setElems(r[col]) {
		if u, ok := atomUUID(e); ok {
			out = append(out, u)
		}
	}
	return out
}

// colMap reads a string->string map column.
func (r Row) colMap(col string) map[string]string {
	raw := r[col]
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
		k, ok1 := atomString(p[0])
		v, ok2 := atomString(p[1])
		if ok1 && ok2 {
			out[k] = v
		}
	}
	return out
}

// Datum encoders for transactions.

func uuidAtom(u string) []string { return []string{"uuid", u} }

// optString encodes an optional string: empty set for "".
func optString(s string) any {
	if s == "" {
		return []any{"set", []any{}}
	}
	return s
}

// strMap encodes a string->string map with sorted keys.
func strMap(m map[string]string) any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]any, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, []any{k, m[k]})
	}
	return []any{"map", pairs}
}

// intMap encodes a string->integer map with sorted keys.
func intMap(m map[string]int64) any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]any, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, []any{k, m[k]})
	}
	return []any{"map", pairs}
}

// strSet encodes a set of strings.
func strSet(ss []string) any {
	elems := make([]any, len(ss))
	for i, s := range ss {
		elems[i] = s
	}
	return []any{"set", elems}
}
