package ovsdb

import (
	"encoding/json"
	"fmt"
)

// ReplayLocked applies one stored transaction record (table -> row UUID ->
// row object or nil) without commit-time checks, as when reading a database
// file. With isDiff, modified set and map columns hold update2-style diffs.
// Call RebuildLocked after the last record. The caller holds the write lock
// (or owns db exclusively).
func (db *Database) ReplayLocked(tables map[string]map[string]json.RawMessage, isDiff bool) error {
	for tn, rows := range tables {
		t := db.tables[tn]
		if t == nil {
			return fmt.Errorf("replay: no table named %s", tn)
		}
		ts := t.Schema
		for us, raw := range rows {
			u, err := ParseUUID(us)
			if err != nil {
				return fmt.Errorf("replay: table %s: bad row uuid %q", tn, us)
			}
			if raw == nil || string(raw) == "null" {
				delete(t.Rows, u)
				continue
			}
			v, err := ParseJSON(raw)
			if err != nil {
				return fmt.Errorf("replay: table %s row %s: %w", tn, us, err)
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("replay: table %s row %s is not an object", tn, us)
			}
			old := t.Rows[u]
			var r *Row
			if old == nil {
				r = newRow(ts, u)
			} else {
				r = old.clone()
				r.Data[1] = &Datum{Keys: []Atom{UUIDAtom(NewUUID())}}
			}
			for cn, cv := range obj {
				c := ts.ColumnMap[cn]
				if c == nil || c.hidden {
					return fmt.Errorf("replay: table %s has no column %s", tn, cn)
				}
				if old != nil && isDiff && c.Type.IsComposite() {
					d, e := datumFromJSONLoose(DiffType(&c.Type), cv, nil, false)
					if e != nil {
						return fmt.Errorf("replay: %s.%s: %w", tn, cn, e)
					}
					nd := ApplyDiff(&c.Type, r.Data[c.Index], &d)
					r.Data[c.Index] = &nd
					continue
				}
				d, e := datumFromJSONLoose(&c.Type, cv, nil, false)
				if e != nil {
					return fmt.Errorf("replay: %s.%s: %w", tn, cn, e)
				}
				r.Data[c.Index] = &d
			}
			t.Rows[u] = r
		}
	}
	return nil
}

// RebuildLocked recomputes reference counts and indexes from the rows.
func (db *Database) RebuildLocked() {
	for _, t := range db.tables {
		t.refs = map[UUID]int{}
		for i := range t.indexes {
			t.indexes[i] = map[string]UUID{}
		}
	}
	for _, t := range db.tables {
		for u, r := range t.Rows {
			forEachRef(t.Schema, r, false, func(_ *ColumnSchema, target *TableSchema, ref UUID) {
				if ref != u {
					db.tables[target.Name].refs[ref]++
				}
			})
			for i, idx := range t.Schema.Indexes {
				t.indexes[i][indexKey(idx, r)] = u
			}
		}
	}
}

// SnapshotLocked returns every row's persistent non-default columns, as a
// compaction snapshot record wants them. The caller holds a lock.
func (db *Database) SnapshotLocked() map[string]map[string]json.RawMessage {
	snap := map[string]map[string]json.RawMessage{}
	for name, t := range db.tables {
		if len(t.Rows) == 0 {
			continue
		}
		rows := make(map[string]json.RawMessage, len(t.Rows))
		for u, r := range t.Rows {
			b := []byte{'{'}
			n := 0
			for _, c := range t.Schema.UserColumns() {
				d := r.Data[c.Index]
				if c.Ephemeral || d.IsDefault(&c.Type) {
					continue
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = appendString(b, c.Name)
				b = append(b, ':')
				b = d.AppendJSON(b, &c.Type)
			}
			rows[u.String()] = append(b, '}')
		}
		snap[name] = rows
	}
	return snap
}

// RowCountLocked returns the number of rows in table name.
func (db *Database) RowCountLocked(name string) int {
	if t := db.tables[name]; t != nil {
		return len(t.Rows)
	}
	return 0
}

// PutInternal inserts row u into table, or updates it when it exists,
// bypassing the read-only check (the server's own _Server rows), committed
// like a transaction so monitors see it.
func (db *Database) PutInternal(table string, u UUID, row map[string]any) error {
	db.mu.RLock()
	t := db.tables[table]
	exists := t != nil && t.Rows[u] != nil
	db.mu.RUnlock()
	op := map[string]any{"op": "insert", "table": table, "uuid": u.String(), "row": row}
	if exists {
		op = map[string]any{"op": "update", "table": table, "row": row,
			"where": []any{[]any{"_uuid", "==", []any{"uuid", u.String()}}}}
	}
	res := db.Transact([]any{op}, TxnOptions{Internal: true})
	if res.Err != nil {
		return res.Err
	}
	return nil
}

// DeleteInternal deletes row u from table, bypassing the read-only check.
func (db *Database) DeleteInternal(table string, u UUID) error {
	op := map[string]any{"op": "delete", "table": table,
		"where": []any{[]any{"_uuid", "==", []any{"uuid", u.String()}}}}
	if res := db.Transact([]any{op}, TxnOptions{Internal: true}); res.Err != nil {
		return res.Err
	}
	return nil
}
