package ovsdb

import "fmt"

// ConvertLocked returns a new database with schema s holding db's rows, as
// ovsdb-tool convert does: tables and columns missing from s are dropped,
// new columns get their defaults, and a value that no longer fits its
// column's type is replaced by the default. References to rows that did
// not survive are then dropped like weak references would be (a strong
// reference that cannot be dropped is an error). The caller holds db's
// lock; the result is not shared yet.
func (db *Database) ConvertLocked(s *Schema) (*Database, error) {
	if s.Name != db.Schema.Name {
		return nil, fmt.Errorf("convert: schema is for database %s, not %s", s.Name, db.Schema.Name)
	}
	nd := NewDatabase(s)
	for name, t := range db.tables {
		nt := nd.tables[name]
		if nt == nil {
			continue
		}
		for u, r := range t.Rows {
			row := newRow(nt.Schema, u)
			for _, c := range nt.Schema.UserColumns() {
				oc := t.Schema.ColumnMap[c.Name]
				if oc == nil {
					continue
				}
				text := r.Data[oc.Index].AppendJSON(nil, &oc.Type)
				v, err := ParseJSON(text)
				if err != nil {
					continue
				}
				if d, e := DatumFromJSON(&c.Type, v, nil); e == nil {
					row.Data[c.Index] = &d
				}
			}
			nt.Rows[u] = row
		}
	}
	// Drop references to rows that are gone.
	for _, t := range nd.tables {
		for u, r := range t.Rows {
			var nr *Row
			for _, c := range t.Schema.UserColumns() {
				kr, vr := c.Type.Key.Ref, c.Type.Value.Ref
				if kr == nil && vr == nil {
					continue
				}
				d := r.Data[c.Index].Flat()
				var out Datum
				dropped := false
				for i, k := range d.Keys {
					if (kr != nil && nd.tables[kr.Name].Rows[k.U] == nil) ||
						(vr != nil && nd.tables[vr.Name].Rows[d.Values[i].U] == nil) {
						dropped = true
						continue
					}
					out.Keys = append(out.Keys, k)
					if d.Values != nil {
						out.Values = append(out.Values, d.Values[i])
					}
				}
				if !dropped {
					continue
				}
				if len(out.Keys) < c.Type.Min {
					return nil, fmt.Errorf("convert: %s row %s column %s loses its required reference", t.Schema.Name, u, c.Name)
				}
				if nr == nil {
					nr = r.clone()
					t.Rows[u] = nr
				}
				nr.Data[c.Index] = &out
			}
		}
	}
	nd.RebuildLocked()
	return nd, nil
}
