package ofproto

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// OVSDB datum decoding (RFC 7047 §5.1) for the few column types ofproto
// reads. Malformed values decode as the column's empty value: a bad row must
// never stop the reconciler.

// The decoders below read the datum bytes directly: a bulk add decodes tens
// of thousands of columns, and encoding/json costs several allocations and
// a validation scan per call. Rows come out of a decoded monitor message, so
// they are valid JSON; anything the fast paths do not handle exactly (string
// escapes, invalid UTF-8, unusual number forms) goes to encoding/json.

// setElems returns a datum's atoms: ["set",[...]] or a single atom.
func setElems(raw json.RawMessage) []json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if arr, ok := splitArray(raw); ok && len(arr) == 2 {
		if tag, ok := atomString(arr[0]); ok {
			switch tag {
			case "set":
				elems, _ := splitArray(arr[1])
				return elems
			case "uuid", "named-uuid":
				return []json.RawMessage{raw}
			}
		}
	}
	return []json.RawMessage{raw}
}

// splitArray returns the elements of the JSON array raw (each without
// surrounding whitespace); ok is false when raw is not an array.
func splitArray(raw []byte) ([]json.RawMessage, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return []json.RawMessage{}, skipSpace(raw, i+1) == len(raw)
	}
	var out []json.RawMessage
	for i < len(raw) {
		end, ok := valueEnd(raw, i)
		if !ok {
			return nil, false
		}
		out = append(out, json.RawMessage(raw[i:end]))
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return out, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at b[i]:
// strings and nested arrays and objects are skipped as a whole, scalars
// end at the next delimiter.
func valueEnd(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return 0, false
			}
			if depth == 0 {
				return i + 1, true
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return i, true
			}
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
	}
	return i, depth == 0
}

func atomString(raw json.RawMessage) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		body := raw[1 : n-1]
		if !bytes.ContainsAny(body, "\\\"") && utf8.Valid(body) {
			return string(body), true
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

func atomInt(raw json.RawMessage) (int64, bool) {
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return n, true
		}
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	return 0, false
}

func atomUUID(raw json.RawMessage) (string, bool) {
	if arr, ok := splitArray(raw); ok && len(arr) == 2 {
		if tag, ok := atomString(arr[0]); ok && tag == "uuid" {
			return atomString(arr[1])
		}
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
	arr, ok := splitArray(raw)
	if !ok || len(arr) != 2 {
		return nil
	}
	pairs, ok := splitArray(arr[1])
	if !ok {
		return nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		kv, ok := splitArray(p)
		if !ok {
			return nil
		}
		if len(kv) < 2 {
			continue
		}
		k, ok1 := atomString(kv[0])
		v, ok2 := atomString(kv[1])
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

// splitUpdates reads a monitor v1 <table-updates> object without
// encoding/json (a bulk add's update holds thousands of rows). ok is false
// when raw is not such an object, or when a name needs unescaping: the
// caller then decodes it with encoding/json.
func splitUpdates(raw []byte) (map[string]map[string]rowUpdate, bool) {
	upd := make(map[string]map[string]rowUpdate)
	ok := eachMember(raw, func(table string, rowsRaw []byte) bool {
		rows := make(map[string]rowUpdate)
		upd[table] = rows
		return eachMember(rowsRaw, func(uuid string, ruRaw []byte) bool {
			var ru rowUpdate
			okRU := eachMember(ruRaw, func(which string, rowRaw []byte) bool {
				var dst *Row
				switch which {
				case "old":
					dst = &ru.Old
				case "new":
					dst = &ru.New
				default:
					if strings.EqualFold(which, "old") || strings.EqualFold(which, "new") {
						// encoding/json matches member names without regard
						// to case; leave that rare spelling to it.
						return false
					}
					_, ok := valueEnd(rowRaw, 0) // ignored, as encoding/json does
					return ok
				}
				if isNull(rowRaw) {
					*dst = nil
					return true
				}
				if *dst == nil { // a repeated key adds to the row, as in encoding/json
					*dst = make(Row, 16) // the widest monitored table
				}
				return eachMember(rowRaw, func(col string, val []byte) bool {
					(*dst)[col] = json.RawMessage(val)
					return true
				})
			})
			rows[uuid] = ru
			return okRU
		})
	})
	return upd, ok
}

func isNull(b []byte) bool { return string(b) == "null" }

// eachMember calls fn with every member of the JSON object raw (the value
// without surrounding whitespace) until fn returns false. It returns false
// when raw is not an object, a key contains an escape, or fn returned false.
func eachMember(raw []byte, fn func(key string, val []byte) bool) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' && raw[j] != '\\' {
			j++
		}
		if j >= len(raw) || raw[j] != '"' {
			return false
		}
		key := raw[i+1 : j]
		if !utf8.Valid(key) {
			return false
		}
		i = skipSpace(raw, j+1)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		end, ok := valueEnd(raw, i)
		if !ok || end == i {
			return false
		}
		if !fn(string(key), raw[i:end]) {
			return false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return skipSpace(raw, i+1) == len(raw)
		default:
			return false
		}
	}
	return false
}
