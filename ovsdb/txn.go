package ovsdb

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// TxnOptions tunes one transact call.
type TxnOptions struct {
	// Start is when the request arrived (wait timeouts count from it); the
	// zero value means now.
	Start time.Time
	// HasLock reports whether the session holds a lock (for "assert");
	// nil means no locks are held.
	HasLock func(name string) bool
	// Internal bypasses the read-only check (the server's own _Server writes).
	Internal bool
}

// TxnResult is the outcome of Transact.
type TxnResult struct {
	// Reply is the JSON array of per-operation results, nil when Blocked.
	Reply []byte
	// Blocked is set when a "wait" was not satisfied and its timeout (if
	// any) has not elapsed: the caller re-runs the transaction after the next
	// commit (Database.Changed) or at Deadline (zero: none).
	Blocked  bool
	Deadline time.Time
	// Commit is the committed change set, nil when nothing changed.
	Commit *Commit
	// wait blocks until the commit is written (and synced when durable).
	wait  func() error
	syncs bool // wait syncs the file
	// Err is the first error object (nil on success).
	Err *Error
}

// Durable blocks until the transaction's commit is in the database file
// and, when the transaction asked for it ("commit" with "durable": true),
// synced to the disk. The reply must
// not be sent before it returns. A non-nil error means the write failed; the
// caller should reply with an "I/O error".
func (r *TxnResult) Durable() error {
	if r.wait == nil {
		return nil
	}
	w := r.wait
	r.wait = nil
	return w()
}

// Syncs reports whether Durable will wait for the file to be synced (the
// transaction asked for a durable commit and Durable has not returned yet).
func (r *TxnResult) Syncs() bool { return r.wait != nil && r.syncs }

// errBlocked is returned by a wait op that must be retried later.
type errBlocked struct{ deadline time.Time }

// txn is one transaction being executed.
type txn struct {
	db       *Database
	opts     *TxnOptions
	syms     Symbols
	tables   map[*Table]*txnTable
	order    []*txnTable
	comments []string
	elapsed  time.Duration
	blocked  *errBlocked
	writable bool
	durable  bool        // a commit operation asked for durable: true
	used     []string    // scratch for execute's objParser
	rcs      []rowChange // slab for newChange
	rcsN     int         // size of the next slab
	symSlab  []Symbol    // slab for the symbols of uuid-names
}

// newChange returns a new rowChange, cut from a slab: a big transaction
// changes thousands of rows, and the changes live only as long as it. The
// slabs start small (most transactions change a row or two) and double up
// to 128 changes.
func (x *txn) newChange(u UUID, old, new *Row) *rowChange {
	if len(x.rcs) == 0 {
		x.rcsN = min(max(2*x.rcsN, 4), 128)
		x.rcs = make([]rowChange, x.rcsN)
	}
	c := &x.rcs[0]
	x.rcs = x.rcs[1:]
	c.u, c.old, c.new = u, old, new
	return c
}

type txnTable struct {
	t       *Table
	changes map[UUID]*rowChange
	order   []*rowChange // in the order the transaction first touched the rows
}

type rowChange struct {
	u        UUID
	old, new *Row
}

func (x *txn) table(t *Table) *txnTable {
	tt := x.tables[t]
	if tt == nil {
		tt = &txnTable{t: t, changes: map[UUID]*rowChange{}}
		x.tables[t] = tt
		x.order = append(x.order, tt)
	}
	return tt
}

// get returns the row as the transaction sees it (nil if absent).
func (x *txn) get(t *Table, u UUID) *Row {
	if tt := x.tables[t]; tt != nil {
		if c := tt.changes[u]; c != nil {
			return c.new
		}
	}
	return t.Rows[u]
}

// modifiable returns a private copy of row u for writing.
func (x *txn) modifiable(t *Table, r *Row) *Row {
	tt := x.table(t)
	u := r.UUID()
	if c := tt.changes[u]; c != nil {
		return c.new
	}
	nr := r.clone()
	c := x.newChange(u, r, nr)
	tt.changes[u] = c
	tt.order = append(tt.order, c)
	return nr
}

func (x *txn) insertRow(t *Table, r *Row) {
	tt := x.table(t)
	u := r.UUID()
	if c := tt.changes[u]; c != nil {
		c.new = r
		return
	}
	c := x.newChange(u, nil, r)
	tt.changes[u] = c
	tt.order = append(tt.order, c)
}

func (x *txn) deleteRow(t *Table, r *Row) {
	tt := x.table(t)
	u := r.UUID()
	if c := tt.changes[u]; c != nil {
		c.new = nil
		return
	}
	c := x.newChange(u, r, nil)
	tt.changes[u] = c
	tt.order = append(tt.order, c)
}

// forEach calls f for every row the transaction sees in t, stopping early if
// f returns false.
func (x *txn) forEach(t *Table, f func(*Row) bool) {
	tt := x.tables[t]
	for u, r := range t.Rows {
		if tt != nil && tt.changes[u] != nil {
			continue
		}
		if !f(r) {
			return
		}
	}
	if tt != nil {
		for _, c := range tt.order {
			if r := c.new; r != nil {
				if !f(r) {
					return
				}
			}
		}
	}
}

// writeOps are the operations that modify the database.
var writeOps = map[string]bool{"insert": true, "update": true, "mutate": true, "delete": true}

// Transact executes one transact request's operations (the params after the
// database name, as decoded by ParseJSON) atomically.
func (db *Database) Transact(ops []any, opts TxnOptions) *TxnResult {
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	writes := false
	for _, op := range ops {
		if m, ok := op.(map[string]any); ok {
			if name, _ := m["op"].(string); writeOps[name] {
				writes = true
				break
			}
		}
	}
	x := &txn{db: db, opts: &opts, syms: make(Symbols, len(ops)), tables: map[*Table]*txnTable{}, writable: writes}
	if writes {
		db.mu.Lock()
	} else {
		db.mu.RLock()
	}
	x.elapsed = time.Since(opts.Start)
	res := x.run(ops)
	if writes {
		var wait func(bool) error
		if res.Err == nil && !res.Blocked {
			var cerr *Error
			res.Commit, wait, cerr = x.commit()
			if cerr != nil {
				res.Err = cerr
				res.Reply = append(res.Reply[:len(res.Reply)-1], ',')
				res.Reply = cerr.AppendJSON(res.Reply)
				res.Reply = append(res.Reply, ']')
			}
		}
		db.mu.Unlock()
		if wait != nil {
			durable := x.durable
			res.wait = func() error { return wait(durable) }
			res.syncs = durable
		}
	} else {
		db.mu.RUnlock()
	}
	return res
}

// run executes the operations and builds the reply array.
func (x *txn) run(ops []any) *TxnResult {
	res := &TxnResult{}
	b := make([]byte, 0, 64*len(ops)+2)
	b = append(b, '[')
	failed := false
	for i, op := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		if failed {
			b = append(b, "null"...)
			continue
		}
		n := len(b)
		var err *Error
		b, err = x.execute(b, op, i+1, len(ops))
		if x.blocked != nil {
			res.Blocked = true
			res.Deadline = x.blocked.deadline
			return res
		}
		if err != nil {
			b = err.AppendJSON(b[:n])
			res.Err = err
			failed = true
		}
	}
	b = append(b, ']')
	res.Reply = b
	return res
}

// execute runs one operation and appends its result.
func (x *txn) execute(b []byte, op any, i, n int) (_ []byte, err *Error) {
	m, ok := op.(map[string]any)
	if !ok {
		return b, syntaxErr(op, "Operation is not a JSON object.")
	}
	// The operations run one at a time, so they share one buffer for the
	// members each looked at.
	p := &objParser{obj: m, used: x.used[:0], opI: i, opN: n}
	defer func() { x.used = p.used[:0] }()
	name, _ := p.str("op", true)
	if p.err != nil {
		return b, p.err
	}
	var t *Table
	if name != "commit" && name != "abort" && name != "comment" && name != "assert" {
		tn, _ := p.str("table", true)
		if p.err != nil {
			return b, p.err
		}
		t = x.db.tables[tn]
		if t == nil {
			return b, p.fail("No table named %s.", tn)
		}
	}
	if writeOps[name] && x.db.readOnly && !x.opts.Internal {
		defer func() {
			if err == nil {
				err = errorf(TagNotAllowed, "%s operation not allowed on table in reserved database %s", name, x.db.Name())
			}
		}()
	}
	switch name {
	case "insert":
		b, err = x.opInsert(b, p, t)
	case "select":
		b, err = x.opSelect(b, p, t)
	case "update":
		b, err = x.opUpdate(b, p, t)
	case "mutate":
		b, err = x.opMutate(b, p, t)
	case "delete":
		b, err = x.opDelete(b, p, t)
	case "wait":
		b, err = x.opWait(b, p, t)
	case "commit":
		d := p.get("durable", true)
		durable, ok := d.(bool)
		if !ok && p.err == nil {
			return b, p.fail("Type mismatch for member 'durable'.")
		}
		if err = p.finish(); err == nil {
			x.durable = x.durable || durable
			b = append(b, "{}"...)
		}
	case "abort":
		if err = p.finish(); err == nil {
			err = &Error{Tag: TagAborted, Details: "aborted by request"}
		}
	case "comment":
		c, _ := p.str("comment", true)
		if err = p.finish(); err == nil {
			x.comments = append(x.comments, c)
			b = append(b, "{}"...)
		}
	case "assert":
		l, _ := p.str("lock", true)
		if err = p.finish(); err == nil {
			if x.opts.HasLock == nil || !x.opts.HasLock(l) {
				err = errorf(TagNotOwner, "Asserted lock %s not held.", l)
			} else {
				b = append(b, "{}"...)
			}
		}
	default:
		return b, p.fail("No operation \"%s\"", name)
	}
	return b, err
}

// parseRow parses a <row> object for table ts, returning column/datum pairs.
func (x *txn) parseRow(ts *TableSchema, v any, update bool) ([]*ColumnSchema, []Datum, *Error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, syntaxErr(v, "row is not a JSON object")
	}
	cols := make([]*ColumnSchema, 0, len(m))
	data := make([]Datum, 0, len(m))
	// Parse in map order; only when a member is bad, parse again in
	// ovsdb-server's member order so that the error reported is the one it
	// reports (sorting costs more than the rest of parsing a small row).
	for name, val := range m {
		c := ts.ColumnMap[name]
		if c == nil || c.hidden || (update && !c.Mutable) {
			return x.parseRowOrdered(ts, m, update)
		}
		d, err := DatumFromJSON(&c.Type, val, x.syms)
		if err != nil {
			return x.parseRowOrdered(ts, m, update)
		}
		cols = append(cols, c)
		data = append(data, d)
	}
	return cols, data, nil
}

func (x *txn) parseRowOrdered(ts *TableSchema, m map[string]any, update bool) ([]*ColumnSchema, []Datum, *Error) {
	v := any(m)
	cols := make([]*ColumnSchema, 0, len(m))
	data := make([]Datum, 0, len(m))
	for _, name := range objectOrder(m) {
		val := m[name]
		c := ts.ColumnMap[name]
		if c == nil {
			return nil, nil, &Error{Tag: TagUnknownColumn, Details: "No column " + name + " in table " + ts.Name + ".",
				Syntax: string(appendJSONValue(nil, v))}
		}
		if c.hidden || (update && !c.Mutable) {
			return nil, nil, errorf(TagConstraint, "Cannot update immutable column %s in table %s.", name, ts.Name)
		}
		d, err := DatumFromJSON(&c.Type, val, x.syms)
		if err != nil {
			return nil, nil, err
		}
		cols = append(cols, c)
		data = append(data, d)
	}
	return cols, data, nil
}

func (x *txn) opInsert(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	rowv := p.get("row", false)
	name, hasName := p.str("uuid-name", false)
	uv := p.get("uuid", false)
	if err := p.finish(); err != nil {
		return b, err
	}
	var u UUID
	explicit := false
	if uv != nil {
		s, _ := uv.(string)
		var err error
		if u, err = ParseUUID(s); err != nil {
			return b, syntaxErr(uv, "bad uuid")
		}
		explicit = true
	}
	if hasName {
		if !isID(name) {
			return b, p.fail("Type mismatch for member 'uuid-name'.")
		}
		sym := x.syms[name]
		if sym != nil && sym.Created {
			return b, &Error{Tag: TagDuplicateUUIDName, Details: "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
				Syntax: strconv.Quote(name)}
		}
		if sym == nil {
			if len(x.symSlab) == 0 {
				x.symSlab = make([]Symbol, 64)
			}
			sym = &x.symSlab[0]
			x.symSlab = x.symSlab[1:]
			sym.UUID = u
			if !explicit {
				sym.UUID = NewUUID()
			}
			x.syms[name] = sym
		}
		// A name referenced before its insert keeps the UUID those
		// references already use.
		sym.Created = true
		u = sym.UUID
	} else if !explicit {
		u = NewUUID()
	}
	if x.get(t, u) != nil || (x.tables[t] != nil && x.tables[t].changes[u] != nil) {
		return b, errorf(TagDuplicateUUID, "This UUID would duplicate a UUID already present within the table or deleted within the same transaction.")
	}
	r := newRow(t.Schema, u)
	if rowv != nil {
		cols, data, err := x.parseRow(t.Schema, rowv, false)
		if err != nil {
			return b, err
		}
		for i, c := range cols {
			r.Data[c.Index] = &data[i]
		}
	}
	// Defaults are not checked by parsing: a one-element default (such as
	// "" for a required enum) must still satisfy the column's constraints.
	// Parsed values were checked, so only columns still at a default that
	// the schema says breaks them can fail.
	for _, c := range t.Schema.badDefaults {
		if r.Data[c.Index] != t.Schema.defaults[c.Index] {
			continue
		}
		if err := defaultError(c, r.Data[c.Index]); err != nil {
			return b, err
		}
	}
	x.insertRow(t, r)
	b = append(b, `{"uuid":["uuid","`...)
	b = appendUUID(b, u)
	return append(b, `"]}`...), nil
}

// matching returns the rows in t that satisfy the where clause in p.
func (x *txn) matching(p *objParser, t *Table) ([]*Row, *Error) {
	wv := p.get("where", true)
	if p.err != nil {
		return nil, p.err
	}
	cond, err := ParseCondition(t.Schema, wv, x.syms)
	if err != nil {
		return nil, err
	}
	var rows []*Row
	if u, ok := cond.uuidEquals(); ok {
		if r := x.get(t, u); r != nil && cond.Eval(r) {
			rows = append(rows, r)
		}
		return rows, nil
	}
	if cands, ok := x.indexCandidates(t, cond); ok {
		for _, r := range cands {
			if cond.Eval(r) {
				rows = append(rows, r)
			}
		}
		return rows, nil
	}
	x.forEach(t, func(r *Row) bool {
		if cond.Eval(r) {
			rows = append(rows, r)
		}
		return true
	})
	return rows, nil
}

// eqArg returns the argument of cond's first "==" clause on column c, or
// nil.
func eqArg(cond *Condition, c *ColumnSchema) *Datum {
	for j := range cond.Clauses {
		if cl := &cond.Clauses[j]; cl.Func == FuncEQ && cl.Column == c {
			return &cl.Arg
		}
	}
	return nil
}

// indexCandidates narrows a condition with "==" clauses on every column of
// one of the table's indexes (libovsdb's Where(model) on a model without
// UUID sends exactly that) to the committed row holding that key plus the
// rows this transaction changed, instead of scanning the table.
func (x *txn) indexCandidates(t *Table, cond *Condition) ([]*Row, bool) {
	if cond.Any || len(t.Schema.Indexes) == 0 {
		return nil, false
	}
	for i, idx := range t.Schema.Indexes {
		var keyStr string
		if stringIndex(idx) {
			arg := eqArg(cond, idx[0])
			if arg == nil || len(arg.Keys) != 1 {
				continue
			}
			keyStr = arg.Keys[0].S
		} else {
			var key []byte
			for _, c := range idx {
				arg := eqArg(cond, c)
				if arg == nil {
					key = nil
					break
				}
				key = arg.AppendJSON(key, &c.Type)
				key = append(key, 0)
			}
			if key == nil {
				continue
			}
			keyStr = string(key)
		}
		var cands []*Row
		tt := x.tables[t]
		if u, ok := t.indexes[i][keyStr]; ok && (tt == nil || tt.changes[u] == nil) {
			if r := t.Rows[u]; r != nil {
				cands = append(cands, r)
			}
		}
		if tt != nil {
			for _, c := range tt.order {
				if r := c.new; r != nil {
					cands = append(cands, r)
				}
			}
		}
		return cands, true
	}
	return nil, false
}

func (x *txn) parseColumns(ts *TableSchema, v any, all bool) ([]*ColumnSchema, *Error) {
	if v == nil {
		if all {
			return ts.Columns, nil
		}
		return ts.UserColumns(), nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, syntaxErr(v, "array of column names expected")
	}
	orig := v
	cols := make([]*ColumnSchema, 0, len(arr))
	seen := map[*ColumnSchema]bool{}
	for _, cv := range arr {
		s, _ := cv.(string)
		c := ts.ColumnMap[s]
		if c == nil {
			return nil, syntaxErr(orig, "%s is not a valid column name", s)
		}
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	return cols, nil
}

func (x *txn) opSelect(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	cv := p.get("columns", false)
	rows, err := x.matching(p, t)
	if err != nil {
		return b, err
	}
	if err := p.finish(); err != nil {
		return b, err
	}
	cols, err := x.parseColumns(t.Schema, cv, true)
	if err != nil {
		return b, err
	}
	// Like ovsdb-server, report distinct rows only, unless _uuid (which
	// makes every row distinct) is among the columns.
	var seen map[string]bool
	if cv != nil && !slices.Contains(cols, t.Schema.Columns[0]) {
		seen = map[string]bool{}
	}
	b = append(b, `{"rows":[`...)
	n := 0
	for _, r := range rows {
		start := len(b)
		if n > 0 {
			b = append(b, ',')
		}
		b = appendRowJSON(b, r, cols, false)
		if seen != nil {
			k := string(b[start:])
			if n > 0 {
				k = k[1:]
			}
			if seen[k] {
				b = b[:start]
				continue
			}
			seen[k] = true
		}
		n++
	}
	return append(b, "]}"...), nil
}

// appendRowJSON appends a row object with the given columns; skipDefault
// omits columns at their default value (update2 initial/insert).
func appendRowJSON(b []byte, r *Row, cols []*ColumnSchema, skipDefault bool) []byte {
	b = append(b, '{')
	first := true
	for _, c := range cols {
		d := r.Data[c.Index]
		if skipDefault && d.IsDefault(&c.Type) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, c.Name)
		b = append(b, ':')
		b = d.AppendJSON(b, &c.Type)
	}
	return append(b, '}')
}

func appendCount(b []byte, n int) []byte {
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

func (x *txn) opUpdate(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	rowv := p.get("row", true)
	if p.err != nil {
		return b, p.err
	}
	cols, data, err := x.parseRow(t.Schema, rowv, true)
	if err != nil {
		if strings.HasPrefix(err.Details, "Cannot update immutable column") {
			err.Syntax = string(appendJSONValue(nil, p.obj))
		}
		return b, err
	}
	rows, err := x.matching(p, t)
	if err != nil {
		return b, err
	}
	if err := p.finish(); err != nil {
		return b, err
	}
	for _, r := range rows {
		nr := x.modifiable(t, r)
		for i, c := range cols {
			nr.Data[c.Index] = &data[i]
		}
	}
	return appendCount(b, len(rows)), nil
}

func (x *txn) opMutate(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	mv := p.get("mutations", true)
	if p.err != nil {
		return b, p.err
	}
	muts, err := parseMutations(t.Schema, mv, x.syms)
	if err != nil {
		return b, err
	}
	rows, err := x.matching(p, t)
	if err != nil {
		return b, err
	}
	if err := p.finish(); err != nil {
		return b, err
	}
	for _, r := range rows {
		nr := x.modifiable(t, r)
		for _, m := range muts {
			if err := m.apply(nr); err != nil {
				return b, err
			}
		}
	}
	return appendCount(b, len(rows)), nil
}

func (x *txn) opDelete(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	rows, err := x.matching(p, t)
	if err != nil {
		return b, err
	}
	if err := p.finish(); err != nil {
		return b, err
	}
	for _, r := range rows {
		x.deleteRow(t, r)
	}
	return appendCount(b, len(rows)), nil
}
