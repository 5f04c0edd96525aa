package ovsdb

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// refDelta accumulates changes to strong reference counts during precommit.
type refDelta map[*Table]map[UUID]int

func (d refDelta) add(t *Table, u UUID, n int) {
	m := d[t]
	if m == nil {
		m = map[UUID]int{}
		d[t] = m
	}
	m[u] += n
}

// refs returns the post-transaction strong reference count of row u in t.
func (x *txn) refs(d refDelta, t *Table, u UUID) int {
	return t.refs[u] + d[t][u]
}

// forEachRef calls f for every reference atom of the given strength in r.
func forEachRef(ts *TableSchema, r *Row, weak bool, f func(c *ColumnSchema, target *TableSchema, u UUID)) {
	if !ts.hasRefs {
		return
	}
	for _, c := range ts.Columns[2:] {
		t := &c.Type
		for _, side := range [2]struct {
			bt   *BaseType
			vals bool
		}{{&t.Key, false}, {&t.Value, true}} {
			bt := side.bt
			if bt.Ref == nil || (bt.RefType == RefWeak) != weak {
				continue
			}
			d := r.Data[c.Index].Flat()
			atoms := d.Keys
			if side.vals {
				atoms = d.Values
			}
			for _, a := range atoms {
				f(c, bt.Ref, a.U)
			}
		}
	}
}

func (x *txn) tableOf(ts *TableSchema) *Table { return x.db.tables[ts.Name] }

// countRefs adds n for every strong reference r makes to another row.
func (x *txn) countRefs(d refDelta, ts *TableSchema, r *Row, n int) {
	self := r.UUID()
	forEachRef(ts, r, false, func(_ *ColumnSchema, target *TableSchema, u UUID) {
		if u != self {
			d.add(x.tableOf(target), u, n)
		}
	})
}

// commit runs the commit-time checks (ovsdb_txn_precommit's order: strong
// refs, garbage collection, weak refs, maxRows, indexes), then applies the
// transaction. It is called with the write lock held.
func (x *txn) commit() (*Commit, func(bool) error, *Error) {
	// Drop no-op changes.
	for _, tt := range x.order {
		order := tt.order[:0]
		for _, c := range tt.order {
			if (c.old == nil && c.new == nil) || (c.old != nil && c.new != nil && sameData(c.old, c.new)) {
				delete(tt.changes, c.u)
				continue
			}
			order = append(order, c)
		}
		tt.order = order
	}
	// Reference counts and integrity, in ovsdb-server's order: adjust the
	// counts for the references each changed row adds or drops (an added
	// reference must resolve), then check that deleted rows are no longer
	// referenced, and only then collect garbage.
	delta := refDelta{}
	for _, tt := range x.order {
		for _, c := range tt.order {
			if err := x.adjustRefs(delta, tt.t.Schema, c.u, c); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, tt := range x.order {
		for _, c := range tt.order {
			if c.new != nil {
				continue
			}
			if n := x.refs(delta, tt.t, c.u); n > 0 {
				return nil, nil, errorf(TagReferentialIntegrity,
					"cannot delete %s row %s because of %d remaining reference(s)", tt.t.Schema.Name, c.u, n)
			}
		}
	}
	if err := x.collectGarbage(delta); err != nil {
		return nil, nil, err
	}
	if err := x.weakRefs(); err != nil {
		return nil, nil, err
	}
	x.dropNoops()
	if err := x.checkMaxRows(); err != nil {
		return nil, nil, err
	}
	if err := x.checkIndexes(); err != nil {
		return nil, nil, err
	}
	return x.apply(delta)
}

// adjustRefs updates the strong reference counts for one changed row:
// references it drops count down, references it adds count up and must
// point to rows that exist. References a modified row keeps are not
// re-checked (a deleted target is caught by the remaining-reference check).
func (x *txn) adjustRefs(delta refDelta, ts *TableSchema, self UUID, c *rowChange) *Error {
	if !ts.hasRefs {
		return nil
	}
	type key struct {
		t *TableSchema
		u UUID
	}
	for _, col := range ts.Columns[2:] {
		if !col.Type.Key.IsStrongRef() && !col.Type.Value.IsStrongRef() {
			continue
		}
		if c.old != nil && c.new != nil && c.old.Data[col.Index].Equal(c.new.Data[col.Index]) {
			continue
		}
		if c.old == nil || c.new == nil {
			// An insert or a delete: every reference counts once, with
			// no old and new to net against each other.
			r, n := c.new, 1
			if r == nil {
				r, n = c.old, -1
			}
			d := r.Data[col.Index].Flat()
			for _, side := range [2]struct {
				bt    *BaseType
				atoms []Atom
			}{{&col.Type.Key, d.Keys}, {&col.Type.Value, d.Values}} {
				if !side.bt.IsStrongRef() {
					continue
				}
				target := x.tableOf(side.bt.Ref)
				for _, a := range side.atoms {
					if a.U == self {
						continue
					}
					if n > 0 && x.get(target, a.U) == nil {
						return errorf(TagReferentialIntegrity,
							"Table %s column %s row %s references nonexistent row %s in table %s.",
							ts.Name, col.Name, self, a.U, side.bt.Ref.Name)
					}
					delta.add(target, a.U, n)
				}
			}
			continue
		}
		if !col.Type.Value.IsStrongRef() {
			// References only in the keys, which are sorted: walk old
			// and new together and count what went and what came.
			bt := &col.Type.Key
			target := x.tableOf(bt.Ref)
			ok, nk := keysChanged(c.old.Data[col.Index], c.new.Data[col.Index])
			i, j := 0, 0
			for i < len(ok) || j < len(nk) {
				var cmp int
				switch {
				case i == len(ok):
					cmp = 1
				case j == len(nk):
					cmp = -1
				default:
					cmp = bytes.Compare(ok[i].U[:], nk[j].U[:])
				}
				switch {
				case cmp < 0:
					if u := ok[i].U; u != self {
						delta.add(target, u, -1)
					}
					i++
				case cmp > 0:
					if u := nk[j].U; u != self {
						if x.get(target, u) == nil {
							return errorf(TagReferentialIntegrity,
								"Table %s column %s row %s references nonexistent row %s in table %s.",
								ts.Name, col.Name, self, u, bt.Ref.Name)
						}
						delta.add(target, u, 1)
					}
					j++
				default:
					i++
					j++
				}
			}
			continue
		}
		counts := map[key]int{}
		collect := func(r *Row, n int) {
			if r == nil {
				return
			}
			d := r.Data[col.Index].Flat()
			if bt := &col.Type.Key; bt.IsStrongRef() {
				for _, a := range d.Keys {
					counts[key{bt.Ref, a.U}] += n
				}
			}
			if bt := &col.Type.Value; bt.IsStrongRef() {
				for _, a := range d.Values {
					counts[key{bt.Ref, a.U}] += n
				}
			}
		}
		collect(c.old, -1)
		collect(c.new, 1)
		for k, n := range counts {
			if n == 0 || k.u == self {
				continue
			}
			target := x.tableOf(k.t)
			if n > 0 && x.get(target, k.u) == nil {
				return errorf(TagReferentialIntegrity,
					"Table %s column %s row %s references nonexistent row %s in table %s.",
					ts.Name, col.Name, self, k.u, k.t.Name)
			}
			delta.add(target, k.u, n)
		}
	}
	return nil
}

// dropNoops forgets rows inserted and deleted (or collected) within the
// transaction.
func (x *txn) dropNoops() {
	for _, tt := range x.order {
		order := tt.order[:0]
		for _, c := range tt.order {
			if c.old == nil && c.new == nil {
				delete(tt.changes, c.u)
				continue
			}
			order = append(order, c)
		}
		tt.order = order
	}
}

func sameData(a, b *Row) bool {
	for i := 2; i < len(a.Data); i++ {
		if !a.Data[i].Equal(b.Data[i]) {
			return false
		}
	}
	return true
}

// collectGarbage deletes non-root rows left without strong references,
// cascading through the references of the rows it deletes.
func (x *txn) collectGarbage(delta refDelta) *Error {
	type cand struct {
		t *Table
		u UUID
	}
	var work []cand
	for _, tt := range x.order {
		if tt.t.Schema.IsRoot {
			continue
		}
		for _, c := range tt.order {
			if c.new != nil {
				work = append(work, cand{tt.t, c.u})
			}
		}
	}
	for t, m := range delta {
		if t.Schema.IsRoot {
			continue
		}
		for u, n := range m {
			if n < 0 {
				work = append(work, cand{t, u})
			}
		}
	}
	for len(work) > 0 {
		c := work[len(work)-1]
		work = work[:len(work)-1]
		r := x.get(c.t, c.u)
		if r == nil || x.refs(delta, c.t, c.u) > 0 {
			continue
		}
		x.countRefs(delta, c.t.Schema, r, -1)
		x.deleteRow(c.t, r)
		self := c.u
		forEachRef(c.t.Schema, r, false, func(_ *ColumnSchema, target *TableSchema, u UUID) {
			if u != self && !target.IsRoot {
				work = append(work, cand{x.tableOf(target), u})
			}
		})
	}
	return nil
}

// weakRefs removes weak references to rows that do not exist after the
// transaction and checks that the affected columns still satisfy min.
func (x *txn) weakRefs() *Error {
	deletedIn := map[*TableSchema]bool{}
	for _, tt := range x.order {
		for _, c := range tt.order {
			if c.new == nil {
				deletedIn[tt.t.Schema] = true
				break
			}
		}
	}
	for _, name := range x.db.Schema.TableNames {
		t := x.db.tables[name]
		ts := t.Schema
		if !ts.hasWeakRefs {
			continue
		}
		scanAll := false
		for _, c := range ts.Columns[2:] {
			if (c.Type.Key.IsWeakRef() && deletedIn[c.Type.Key.Ref]) || (c.Type.Value.IsWeakRef() && deletedIn[c.Type.Value.Ref]) {
				scanAll = true
			}
		}
		var rows []*Row
		if scanAll {
			x.forEach(t, func(r *Row) bool { rows = append(rows, r); return true })
		} else if tt := x.tables[t]; tt != nil {
			for _, c := range tt.order {
				if r := c.new; r != nil {
					rows = append(rows, r)
				}
			}
		}
		for _, r := range rows {
			if err := x.fixWeakRow(t, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *txn) fixWeakRow(t *Table, r *Row) *Error {
	ts := t.Schema
	var nr *Row
	for _, c := range ts.Columns[2:] {
		kw, vw := c.Type.Key.IsWeakRef(), c.Type.Value.IsWeakRef()
		if !kw && !vw {
			continue
		}
		d := r.Data[c.Index].Flat()
		dead := func(i int) bool {
			if kw && x.get(x.tableOf(c.Type.Key.Ref), d.Keys[i].U) == nil {
				return true
			}
			return vw && x.get(x.tableOf(c.Type.Value.Ref), d.Values[i].U) == nil
		}
		n := 0
		for i := range d.Keys {
			if dead(i) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		var nd Datum
		for i := range d.Keys {
			if dead(i) {
				continue
			}
			nd.Keys = append(nd.Keys, d.Keys[i])
			if d.Values != nil {
				nd.Values = append(nd.Values, d.Values[i])
			}
		}
		if len(nd.Keys) < c.Type.Min {
			return errorf(TagConstraint, "Deletion of %d weak reference(s) to deleted (or never-existing) rows "+
				"from column \"%s\" in \"%s\" row %s caused this column to become empty, but constraints on this "+
				"column disallow an empty column.", n, c.Name, ts.Name, r.UUID())
		}
		if nr == nil {
			nr = x.modifiable(t, r)
		}
		nr.Data[c.Index] = &nd
	}
	return nil
}

func (x *txn) checkMaxRows() *Error {
	for _, tt := range x.order {
		ts := tt.t.Schema
		if ts.MaxRows == 0 {
			continue
		}
		n := len(tt.t.Rows)
		for _, c := range tt.order {
			switch {
			case c.old == nil && c.new != nil:
				n++
			case c.old != nil && c.new == nil:
				n--
			}
		}
		if n > ts.MaxRows {
			return errorf(TagConstraint, "transaction causes \"%s\" table to contain %d rows, greater than the schema-defined limit of %d row(s)",
				ts.Name, n, ts.MaxRows)
		}
	}
	return nil
}

func (x *txn) checkIndexes() *Error {
	for _, tt := range x.order {
		ts := tt.t.Schema
		for i, idx := range ts.Indexes {
			seen := make(map[string]UUID, len(tt.order))
			for _, c := range tt.order {
				u := c.u
				if c.new == nil {
					continue
				}
				k := indexKey(idx, c.new)
				other, dup := seen[k]
				if !dup {
					if owner, ok := tt.t.indexes[i][k]; ok && owner != u && tt.changes[owner] == nil {
						other, dup = owner, true
					}
				}
				if dup {
					return x.indexError(tt, idx, c.new, u, other)
				}
				seen[k] = u
			}
		}
	}
	return nil
}

// indexError describes an index clash the way ovsdb-server does: the row
// being checked first, then the row it clashes with, each with its fate in
// this transaction.
func (x *txn) indexError(tt *txnTable, idx []*ColumnSchema, r *Row, first, second UUID) *Error {
	values := func(r *Row) string {
		vals := make([]string, len(idx))
		for i, c := range idx {
			vals[i] = r.Data[c.Index].String(&c.Type)
		}
		return strings.Join(vals, ", ")
	}
	names := make([]string, len(idx))
	for i, c := range idx {
		names[i] = "\"" + c.Name + "\""
	}
	cols := "column " + names[0]
	if len(names) > 1 {
		cols = "columns " + strings.Join(names, ", ")
	}
	describe := func(u UUID) string {
		c := tt.changes[u]
		switch {
		case c == nil:
			return "existed in the database before this transaction and was not modified by the transaction."
		case c.old == nil:
			return "was inserted by this transaction."
		case values(c.old) == values(c.new):
			return "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index."
		}
		return "had the following index values before the transaction: " + values(c.old) + "."
	}
	// ovsdb-server names the rows in UUID order, to be reproducible.
	if bytes.Compare(first[:], second[:]) > 0 {
		first, second = second, first
	}
	return errorf(TagConstraint, "Transaction causes multiple rows in \"%s\" table to have identical values (%s) for index on %s.  "+
		"First row, with UUID %s, %s  Second row, with UUID %s, %s",
		tt.t.Schema.Name, values(r), cols, first, describe(first), second, describe(second))
}

// apply makes the transaction's changes the committed state and hands the
// commit to the log and the commit hooks.
func (x *txn) apply(delta refDelta) (*Commit, func(bool) error, *Error) {
	db := x.db
	cm := &Commit{Date: time.Now(), Comment: strings.Join(x.comments, "\n")}
	for _, tt := range x.order {
		if len(tt.order) == 0 {
			continue
		}
		t := tt.t
		tc := &TableChange{Table: t.Schema, Rows: make([]RowChange, 0, len(tt.order))}
		for _, c := range tt.order {
			u := c.u
			if c.old != nil && c.new != nil {
				c.new.Data[1] = uuidDatum(NewUUID())
			}
			for i, idx := range t.Schema.Indexes {
				if c.old != nil {
					k := indexKey(idx, c.old)
					if t.indexes[i][k] == u {
						delete(t.indexes[i], k)
					}
				}
			}
			if c.new == nil {
				delete(t.Rows, u)
			} else {
				t.Rows[u] = c.new
			}
			tc.Rows = append(tc.Rows, RowChange{Old: c.old, New: c.new})
		}
		for _, c := range tt.order {
			if r := c.new; r != nil {
				for i, idx := range t.Schema.Indexes {
					t.indexes[i][indexKey(idx, r)] = c.u
				}
			}
		}
		cm.Tables = append(cm.Tables, tc)
	}
	for t, m := range delta {
		for u, n := range m {
			if n == 0 {
				continue
			}
			if v := t.refs[u] + n; v > 0 {
				t.refs[u] = v
			} else {
				delete(t.refs, u)
			}
		}
	}
	if len(cm.Tables) == 0 {
		return nil, nil, nil
	}
	return cm, db.publishLocked(cm), nil
}

// publishLocked assigns a transaction id, logs the commit and runs the
// hooks. The write lock is held.
func (db *Database) publishLocked(cm *Commit) func(bool) error {
	cm.TxnID = NewUUID()
	db.lastTxn = cm.TxnID
	db.nCommits++
	// The record and the monitors' updates diff the same columns.
	dc := diffCache{}
	for _, tc := range cm.Tables {
		tc.diffs = dc
	}
	var wait func(bool) error
	if db.log != nil {
		if rec := cm.Record(); rec != nil {
			wait = db.log.Append(rec)
		}
	}
	db.remember(cm)
	for _, f := range db.onCommit {
		f(cm)
	}
	for _, tc := range cm.Tables {
		tc.diffs = nil
	}
	close(db.changed)
	db.changed = make(chan struct{})
	return wait
}

// Maximum history kept for monitor_cond_since.
const (
	historyCommits = 100
	historyRows    = 20000
)

func (db *Database) remember(cm *Commit) {
	db.history = append(db.history, cm)
	db.histRows += cm.rowCount()
	for len(db.history) > historyCommits || (db.histRows > historyRows && len(db.history) > 1) {
		db.histRows -= db.history[0].rowCount()
		db.history[0] = nil
		db.history = db.history[1:]
	}
}

// HistorySinceLocked returns the commits after txn id since, and whether
// since was found (the current last id counts as found with no commits).
func (db *Database) HistorySinceLocked(since UUID) ([]*Commit, bool) {
	if since == db.lastTxn && since != ZeroUUID {
		return nil, true
	}
	for i, cm := range db.history {
		if cm.TxnID == since {
			return db.history[i+1:], true
		}
	}
	return nil, false
}

// Record returns the commit as an Open vSwitch standalone-log transaction
// record ("_is_diff":true; ephemeral columns omitted), or nil when nothing
// persistent changed.
func (cm *Commit) Record() []byte {
	b := make([]byte, 0, 256+128*cm.rowCount())
	b = append(b, '{')
	any := false
	for _, tc := range cm.Tables {
		tstart := len(b)
		if any {
			b = append(b, ',')
		}
		b = appendString(b, tc.Table.Name)
		b = append(b, ":{"...)
		rows := 0
		for _, rc := range tc.Rows {
			rstart := len(b)
			if rows > 0 {
				b = append(b, ',')
			}
			var u UUID
			if rc.New != nil {
				u = rc.New.UUID()
			} else {
				u = rc.Old.UUID()
			}
			b = append(b, '"')
			b = appendUUID(b, u)
			b = append(b, `":`...)
			if rc.New == nil {
				b = append(b, "null"...)
				rows++
				continue
			}
			b = append(b, '{')
			ncols := 0
			for _, c := range tc.Table.Columns[2:] {
				if c.Ephemeral {
					continue
				}
				nd := rc.New.Data[c.Index]
				var d Datum
				if rc.Old == nil {
					if nd.IsDefault(&c.Type) {
						continue
					}
					d = *nd
				} else {
					od := rc.Old.Data[c.Index]
					if od.Equal(nd) {
						continue
					}
					d = tc.diffs.diff(&c.Type, od, nd)
				}
				if ncols > 0 {
					b = append(b, ',')
				}
				ncols++
				b = appendString(b, c.Name)
				b = append(b, ':')
				b = d.AppendJSON(b, DiffType(&c.Type))
			}
			if ncols == 0 && rc.Old != nil {
				b = b[:rstart] // only ephemeral columns changed
				continue
			}
			b = append(b, '}')
			rows++
		}
		if rows == 0 {
			b = b[:tstart]
			continue
		}
		b = append(b, '}')
		any = true
	}
	if !any {
		return nil
	}
	b = append(b, fmt.Sprintf(`,"_date":%d`, cm.Date.UnixMilli())...)
	if cm.Comment != "" {
		b = append(b, `,"_comment":`...)
		b = appendString(b, cm.Comment)
	}
	b = append(b, `,"_is_diff":true}`...)
	return b
}
