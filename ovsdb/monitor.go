package ovsdb

import (
	"bytes"
	"slices"
	"sort"
	"strings"
)

// Select says which kinds of changes a monitor reports.
type Select struct {
	Initial, Insert, Delete, Modify bool
}

// MonitorTable is a monitor's request for one table.
type MonitorTable struct {
	Table   *TableSchema
	Columns []*ColumnSchema
	Select  Select
	Cond    *Condition // nil: every row
	condRaw string
	// oldCond is the condition the client was last told about. Like
	// ovsdb-server, a monitor_cond_change that fails half way keeps the
	// conditions it already set but sends nothing, so until the next
	// successful change old rows are judged by oldCond and new rows by Cond.
	oldCond *Condition
	oldRaw  string
}

// Monitor is one monitor of one database: which tables and columns it
// reports, its protocol version (1: update, 2: update2, 3: update3) and,
// for versions 2 and 3, its conditions.
type Monitor struct {
	Version int
	Tables  []*MonitorTable // sorted by table name
	key     string
}

// Key identifies monitors that produce identical updates, so that the
// server can encode each commit once per distinct monitor.
func (m *Monitor) Key() string { return m.key }

func (m *Monitor) computeKey() {
	var sb strings.Builder
	sb.WriteByte(byte('0' + m.Version))
	for _, mt := range m.Tables {
		sb.WriteString("|" + mt.Table.Name + ":")
		for _, c := range mt.Columns {
			sb.WriteString(c.Name + ",")
		}
		s := mt.Select
		for _, f := range []bool{s.Initial, s.Insert, s.Delete, s.Modify} {
			if f {
				sb.WriteByte('1')
			} else {
				sb.WriteByte('0')
			}
		}
		sb.WriteString(mt.condRaw)
		sb.WriteString("|" + mt.oldRaw)
	}
	m.key = sb.String()
}

// ParseMonitor parses the <monitor-requests> object of monitor,
// monitor_cond or monitor_cond_since for version 1, 2 or 3.
func ParseMonitor(s *Schema, v any, version int) (*Monitor, *Error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxErr(v, "monitor requests must be an object")
	}
	m := &Monitor{Version: version}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ts := s.Tables[name]
		if ts == nil {
			return nil, errorf(TagSyntax, "no table named %s", name)
		}
		reqs, isArr := obj[name].([]any)
		if !isArr {
			reqs = []any{obj[name]}
		}
		mt := &MonitorTable{Table: ts}
		seen := map[*ColumnSchema]bool{}
		for _, rv := range reqs {
			p, err := newObjParser(rv, "table "+name)
			if err != nil {
				return nil, err
			}
			cols := p.get("columns", false)
			sel := p.get("select", false)
			var where any
			if version > 1 {
				where = p.get("where", false)
			}
			if err := p.finish(); err != nil {
				return nil, err
			}
			if cols == nil {
				for _, c := range ts.UserColumns() {
					if !seen[c] {
						seen[c] = true
						mt.Columns = append(mt.Columns, c)
					}
				}
			} else {
				ca, ok := cols.([]any)
				if !ok {
					return nil, syntaxErr(cols, "array of column names expected")
				}
				for _, cv := range ca {
					cn, _ := cv.(string)
					c := ts.ColumnMap[cn]
					if c == nil {
						return nil, syntaxErr(cols, "%s is not a valid column name", cn)
					}
					if seen[c] {
						return nil, syntaxErr(cols, "column %s mentioned more than once", cn)
					}
					seen[c] = true
					mt.Columns = append(mt.Columns, c)
				}
			}
			s := Select{true, true, true, true}
			if sel != nil {
				sp, err := newObjParser(sel, "table "+name+" select")
				if err != nil {
					return nil, err
				}
				for _, f := range []struct {
					name string
					p    *bool
				}{{"initial", &s.Initial}, {"insert", &s.Insert}, {"delete", &s.Delete}, {"modify", &s.Modify}} {
					if bv := sp.get(f.name, false); bv != nil {
						b, ok := bv.(bool)
						if !ok {
							return nil, syntaxErr(bv, "select member %s is not a boolean", f.name)
						}
						*f.p = b
					}
				}
				if err := sp.finish(); err != nil {
					return nil, err
				}
			}
			mt.Select.Initial = mt.Select.Initial || s.Initial
			mt.Select.Insert = mt.Select.Insert || s.Insert
			mt.Select.Delete = mt.Select.Delete || s.Delete
			mt.Select.Modify = mt.Select.Modify || s.Modify
			if where != nil {
				if err := mt.SetCondition(where); err != nil {
					return nil, err
				}
				mt.oldCond, mt.oldRaw = mt.Cond, mt.condRaw
			}
		}
		sort.Slice(mt.Columns, func(i, j int) bool { return mt.Columns[i].Index < mt.Columns[j].Index })
		m.Tables = append(m.Tables, mt)
	}
	m.computeKey()
	return m, nil
}

// SetCondition replaces the table's condition with a <where> array.
func (mt *MonitorTable) SetCondition(where any) *Error {
	cond, err := ParseCondition(mt.Table, where, nil)
	if err != nil {
		return err
	}
	cond.Any = true
	if cond.IsTrue() {
		mt.Cond, mt.condRaw = nil, ""
	} else {
		mt.Cond, mt.condRaw = cond, JSONString(where)
	}
	return nil
}

// ChangeConditions applies monitor_cond_change's <monitor-cond-update>
// object and returns the updates (version 2 form) for rows that enter or
// leave the monitor's view, or nil. The caller holds the database lock.
// Tables are processed in ovsdb-server's member order and, as there, a
// failure leaves the conditions already changed in place (see oldCond).
func (m *Monitor) ChangeConditions(db *Database, v any) ([]byte, *Error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxErr(v, "condition updates must be an object")
	}
	defer m.computeKey()
	for _, name := range objectOrder(obj) {
		rv := obj[name]
		var mt *MonitorTable
		for _, t := range m.Tables {
			if t.Table.Name == name {
				mt = t
			}
		}
		if mt == nil {
			return nil, errorf(TagSyntax, "no table named %s", name)
		}
		reqs, isArr := rv.([]any)
		if !isArr {
			reqs = []any{rv}
		}
		for _, r := range reqs {
			p, err := newObjParser(r, "table "+name)
			if err != nil {
				return nil, err
			}
			if p.get("columns", false) != nil {
				return nil, syntaxErr(r, "changing columns is unsupported")
			}
			where := p.get("where", false)
			if err := p.finish(); err != nil {
				return nil, err
			}
			if where == nil {
				continue
			}
			if err := mt.SetCondition(where); err != nil {
				return nil, err
			}
		}
	}
	b := []byte{'{'}
	nt := 0
	for _, mt := range m.Tables {
		if mt.condRaw == mt.oldRaw {
			continue
		}
		t := db.tables[mt.Table.Name]
		n0 := len(b)
		if nt > 0 {
			b = append(b, ',')
		}
		b = appendString(b, mt.Table.Name)
		b = append(b, ":{"...)
		nr := 0
		for _, r := range t.Rows {
			was := mt.oldCond == nil || mt.oldCond.Eval(r)
			is := mt.Cond == nil || mt.Cond.Eval(r)
			if was == is {
				continue
			}
			if nr > 0 {
				b = append(b, ',')
			}
			nr++
			b = append(b, '"')
			b = appendUUID(b, r.UUID())
			if is {
				b = append(b, `":{"insert":`...)
				b = appendRowJSON(b, r, mt.Columns, true)
				b = append(b, '}')
			} else {
				b = append(b, `":{"delete":null}`...)
			}
		}
		mt.oldCond, mt.oldRaw = mt.Cond, mt.condRaw
		if nr == 0 {
			b = b[:n0]
			continue
		}
		b = append(b, '}')
		nt++
	}
	b = append(b, '}')
	if nt == 0 {
		return nil, nil
	}
	return b, nil
}

// Initial returns the <table-updates> (version 1) or <table-updates2>
// object with the monitor's view of the database. The caller holds the
// database lock.
func (m *Monitor) Initial(db *Database) []byte {
	b := []byte{'{'}
	nt := 0
	for _, mt := range m.Tables {
		if !mt.Select.Initial {
			continue
		}
		t := db.tables[mt.Table.Name]
		n0 := len(b)
		if nt > 0 {
			b = append(b, ',')
		}
		b = appendString(b, mt.Table.Name)
		b = append(b, ":{"...)
		nr := 0
		// UUID order, as ovsdb-server sends them: clients such as
		// ovs-vsctl list rows in the order they arrived.
		for _, u := range sortedRowUUIDs(t.Rows) {
			r := t.Rows[u]
			if mt.Cond != nil && !mt.Cond.Eval(r) {
				continue
			}
			if nr > 0 {
				b = append(b, ',')
			}
			nr++
			b = append(b, '"')
			b = appendUUID(b, u)
			if m.Version == 1 {
				b = append(b, `":{"new":`...)
				b = appendRowJSON(b, r, mt.Columns, false)
			} else {
				b = append(b, `":{"initial":`...)
				b = appendRowJSON(b, r, mt.Columns, true)
			}
			b = append(b, '}')
		}
		if nr == 0 {
			b = b[:n0]
			continue
		}
		b = append(b, '}')
		nt++
	}
	return append(b, '}')
}

// Update returns the monitor's updates for a list of commits (merged per
// row: first old, last new), or nil when none concern it.
func (m *Monitor) Update(commits []*Commit) []byte {
	if len(commits) == 1 {
		return m.update(commits[0].Tables)
	}
	type merged struct {
		tc    *TableChange
		index map[UUID]int
	}
	var tables []*TableChange
	byName := map[string]*merged{}
	for _, cm := range commits {
		for _, tc := range cm.Tables {
			mg := byName[tc.Table.Name]
			if mg == nil {
				mg = &merged{tc: &TableChange{Table: tc.Table}, index: map[UUID]int{}}
				byName[tc.Table.Name] = mg
				tables = append(tables, mg.tc)
			}
			for _, rc := range tc.Rows {
				var u UUID
				if rc.New != nil {
					u = rc.New.UUID()
				} else {
					u = rc.Old.UUID()
				}
				if i, ok := mg.index[u]; ok {
					mg.tc.Rows[i].New = rc.New
				} else {
					mg.index[u] = len(mg.tc.Rows)
					mg.tc.Rows = append(mg.tc.Rows, rc)
				}
			}
		}
	}
	return m.update(tables)
}

func (m *Monitor) update(tables []*TableChange) []byte {
	var b []byte
	nt := 0
	for _, tc := range tables {
		var mt *MonitorTable
		for _, t := range m.Tables {
			if t.Table == tc.Table {
				mt = t
				break
			}
		}
		if mt == nil {
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, 256), '{')
		}
		n0 := len(b)
		if nt > 0 {
			b = append(b, ',')
		}
		b = appendString(b, mt.Table.Name)
		b = append(b, ":{"...)
		nr := 0
		for _, rc := range tc.Rows {
			b, nr = m.appendRowUpdate(b, mt, rc, nr, tc.diffs)
		}
		if nr == 0 {
			b = b[:n0]
			continue
		}
		b = append(b, '}')
		nt++
	}
	if nt == 0 {
		return nil
	}
	return append(b, '}')
}

func (m *Monitor) appendRowUpdate(b []byte, mt *MonitorTable, rc RowChange, nr int, dc diffCache) ([]byte, int) {
	old, new := rc.Old, rc.New
	if old == nil && new == nil {
		return b, nr
	}
	if old != nil && mt.oldCond != nil && !mt.oldCond.Eval(old) {
		old = nil
	}
	if new != nil && mt.Cond != nil && !mt.Cond.Eval(new) {
		new = nil
	}
	var u UUID
	switch {
	case old == nil && new == nil:
		return b, nr
	case old == nil:
		if !mt.Select.Insert {
			return b, nr
		}
		u = new.UUID()
	case new == nil:
		if !mt.Select.Delete {
			return b, nr
		}
		u = old.UUID()
	default:
		if !mt.Select.Modify {
			return b, nr
		}
		changed := false
		for _, c := range mt.Columns {
			if !old.Data[c.Index].Equal(new.Data[c.Index]) {
				changed = true
				break
			}
		}
		if !changed {
			return b, nr
		}
		u = new.UUID()
	}
	if nr > 0 {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = appendUUID(b, u)
	b = append(b, `":`...)
	if m.Version == 1 {
		switch {
		case old == nil:
			b = append(b, `{"new":`...)
			b = appendRowJSON(b, new, mt.Columns, false)
		case new == nil:
			b = append(b, `{"old":`...)
			b = appendRowJSON(b, old, mt.Columns, false)
		default:
			b = append(b, `{"old":{`...)
			first := true
			for _, c := range mt.Columns {
				od := old.Data[c.Index]
				if od.Equal(new.Data[c.Index]) {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendString(b, c.Name)
				b = append(b, ':')
				b = od.AppendJSON(b, &c.Type)
			}
			b = append(b, `},"new":`...)
			b = appendRowJSON(b, new, mt.Columns, false)
		}
		return append(b, '}'), nr + 1
	}
	switch {
	case old == nil:
		b = append(b, `{"insert":`...)
		b = appendRowJSON(b, new, mt.Columns, true)
	case new == nil:
		b = append(b, `{"delete":null`...)
	default:
		b = append(b, `{"modify":{`...)
		first := true
		for _, c := range mt.Columns {
			od, nd := old.Data[c.Index], new.Data[c.Index]
			if od.Equal(nd) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, c.Name)
			b = append(b, ':')
			d := dc.diff(&c.Type, od, nd)
			b = d.AppendJSON(b, DiffType(&c.Type))
		}
		b = append(b, '}')
	}
	return append(b, '}'), nr + 1
}

// sortedRowUUIDs returns the keys of rows in byte (and so text) order.
func sortedRowUUIDs(rows map[UUID]*Row) []UUID {
	us := make([]UUID, 0, len(rows))
	for u := range rows {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b UUID) int { return bytes.Compare(a[:], b[:]) })
	return us
}
