package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Members of a transaction record that are not tables.
const (
	memberDate    = "_date"
	memberComment = "_comment"
	memberIsDiff  = "_is_diff"
)

// CompactComment is the "_comment" of the snapshot record Compact writes, as
// ovsdb-server writes it when it compacts a database online.
const CompactComment = "compacting database online"

// Txn is one transaction record (records 1..n of a standalone database):
//
//	{"_date":1700000000000,"_comment":"...","_is_diff":true,
//	 "Bridge":{"<uuid>":{"name":"br0"},"<uuid>":null}}
type Txn struct {
	// Tables maps a table name to the rows the transaction changed, keyed
	// by row UUID in its 36-character text form. A row is a JSON object
	// of column values in OVSDB wire notation: every non-default column of
	// an inserted row, or the changed columns of a modified row (with
	// IsDiff, a set or map column holds the diff to apply, as in
	// update2's "modify"). A nil row (JSON null) deletes the row.
	Tables map[string]map[string]json.RawMessage
	// Date is "_date", written in milliseconds since the epoch. A zero
	// Date is omitted by AppendJSON; Log.AppendTxn fills in the time.
	Date time.Time
	// Comment is "_comment": the transaction's "comment" operations
	// joined by newlines. Empty means omitted.
	Comment string
	// IsDiff is "_is_diff": Open vSwitch 3.x writes true on every
	// transaction record; a compaction snapshot has it false (omitted).
	IsDiff bool
}

// ParseTxn parses a transaction record body. Members other than "_date",
// "_comment" and "_is_diff" are tables (a name starting with "_" is an
// error, as in Open vSwitch): the server decides whether the table exists. A row that is neither
// an object nor null, a key that is not a UUID, or a "_date", "_comment" or
// "_is_diff" of the wrong type is an error. "_date" values below 2^32 are
// seconds (files from old Open vSwitch versions), larger ones milliseconds.
//
// The returned rows are copies: t does not keep record.
func ParseTxn(record []byte) (*Txn, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(record, &top); err != nil {
		return nil, fmt.Errorf("parse transaction record: %w", err)
	}
	t := &Txn{Tables: make(map[string]map[string]json.RawMessage, len(top))}
	for name, raw := range top {
		switch name {
		case memberDate:
			d, err := parseDate(raw)
			if err != nil {
				return nil, fmt.Errorf("parse transaction record: %w", err)
			}
			t.Date = d
		case memberComment:
			if err := json.Unmarshal(raw, &t.Comment); err != nil {
				return nil, fmt.Errorf("parse transaction record: _comment: %w", err)
			}
		case memberIsDiff:
			if err := json.Unmarshal(raw, &t.IsDiff); err != nil {
				return nil, fmt.Errorf("parse transaction record: _is_diff: %w", err)
			}
		default:
			if name == "" || name[0] == '_' {
				return nil, fmt.Errorf("parse transaction record: bad table name %q", truncate([]byte(name), 40))
			}
			rows, err := parseRows(raw)
			if err != nil {
				return nil, fmt.Errorf("parse transaction record: table %s: %w", name, err)
			}
			t.Tables[name] = rows
		}
	}
	return t, nil
}

func parseRows(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("rows are not a json object")
	}
	var rows map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	for id, row := range rows {
		if !isUUID(id) {
			return nil, fmt.Errorf("row key %q is not a uuid", truncate([]byte(id), 40))
		}
		switch {
		case bytes.Equal(row, []byte("null")):
			rows[id] = nil
		case len(row) == 0 || row[0] != '{':
			return nil, fmt.Errorf("row %s is neither an object nor null", id)
		}
	}
	return rows, nil
}

func parseDate(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, fmt.Errorf("_date: %w", err)
	}
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
			return time.Time{}, fmt.Errorf("_date %s out of range", n)
		}
		ms = int64(f)
	}
	if ms >= 0 && ms < 1<<32 {
		return time.Unix(ms, 0), nil
	}
	return time.UnixMilli(ms), nil
}

// isUUID reports whether s is a UUID in the 8-4-4-4-12 hex text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// AppendJSON appends t as a record body (without the trailing line feed) in
// Open vSwitch's compact JSON: "_date", "_comment" and "_is_diff" first
// (when set), then tables and rows sorted by name and UUID, each row
// re-encoded with AppendCompact. Table names starting with "_", keys that
// are not UUIDs, rows that are not objects or null, and JSON that Open
// vSwitch would refuse are errors, because ovsdb-tool could not read the
// file afterwards. dst is returned unchanged on error.
func (t *Txn) AppendJSON(dst []byte) ([]byte, error) {
	orig := len(dst)
	fail := func(err error) ([]byte, error) {
		return dst[:orig], fmt.Errorf("encode transaction record: %w", err)
	}
	dst = append(dst, '{')
	if !t.Date.IsZero() {
		dst = append(dst, `"_date":`...)
		dst = strconv.AppendInt(dst, t.Date.UnixMilli(), 10)
		dst = append(dst, ',')
	}
	if t.Comment != "" {
		var err error
		dst = append(dst, `"_comment":`...)
		if dst, err = appendQuoted(dst, t.Comment); err != nil {
			return fail(fmt.Errorf("_comment: %w", err))
		}
		dst = append(dst, ',')
	}
	if t.IsDiff {
		dst = append(dst, `"_is_diff":true,`...)
	}
	// Small stack arrays keep the key sorting free of allocations for
	// typical transactions (a few tables, a few rows each).
	var tableArr, rowArr [16]string
	for _, table := range appendSortedKeys(tableArr[:0], t.Tables) {
		if table == "" || table[0] == '_' {
			return fail(fmt.Errorf("bad table name %q", table))
		}
		var err error
		if dst, err = appendQuoted(dst, table); err != nil {
			return fail(fmt.Errorf("table name: %w", err))
		}
		dst = append(dst, ':', '{')
		rows := t.Tables[table]
		for i, id := range appendSortedKeys(rowArr[:0], rows) {
			if !isUUID(id) {
				return fail(fmt.Errorf("table %s: row key %q is not a uuid", table, id))
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, id...)
			dst = append(dst, '"', ':')
			if dst, err = appendRow(dst, rows[id]); err != nil {
				return fail(fmt.Errorf("table %s row %s: %w", table, id, err))
			}
		}
		dst = append(dst, '}', ',')
	}
	if dst[len(dst)-1] == ',' {
		dst[len(dst)-1] = '}'
	} else {
		dst = append(dst, '}')
	}
	return dst, nil
}

func appendRow(dst []byte, row json.RawMessage) ([]byte, error) {
	trimmed := trimSpace(row)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return append(dst, "null"...), nil
	}
	if trimmed[0] != '{' {
		return dst, fmt.Errorf("row is neither an object nor null")
	}
	return AppendCompact(dst, trimmed)
}

func appendSortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
