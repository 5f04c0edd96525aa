package ovsdb

import (
	"sync"
	"time"
)

// Row is one row. Data is indexed like TableSchema.Columns: Data[0] is _uuid
// and Data[1] is _version. A committed row is never modified; a transaction
// modifies a private copy.
type Row struct {
	// Data holds the columns' values, indexed by ColumnSchema.Index. Datums
	// are immutable and shared: a row's copies point to the same datums,
	// and every column left at its default points to the schema's one
	// default datum, so a wide row with few set columns stays small.
	Data []*Datum
}

// UUID returns the row's _uuid.
func (r *Row) UUID() UUID { return r.Data[0].Keys[0].U }

// Version returns the row's _version.
func (r *Row) Version() UUID { return r.Data[1].Keys[0].U }

func (r *Row) clone() *Row {
	return &Row{Data: append([]*Datum(nil), r.Data...)}
}

// newRow returns a row with every column at its default.
func newRow(ts *TableSchema, u UUID) *Row {
	// One allocation for the row and its _uuid datum (which every later
	// version of the row shares).
	nr := &newRowCell{}
	nr.id.a[0] = UUIDAtom(u)
	nr.id.d.Keys = nr.id.a[:]
	r := &nr.r
	r.Data = make([]*Datum, len(ts.Columns))
	copy(r.Data, ts.defaults) // datums are immutable: sharing is safe
	r.Data[0] = &nr.id.d
	r.Data[1] = uuidDatum(NewUUID())
	return r
}

type newRowCell struct {
	r  Row
	id uuidCell
}

// uuidCell holds a one-UUID datum and its atom in one allocation.
type uuidCell struct {
	d Datum
	a [1]Atom
}

// uuidDatum returns the datum holding just u (a row's _uuid or _version).
func uuidDatum(u UUID) *Datum {
	c := &uuidCell{a: [1]Atom{UUIDAtom(u)}}
	c.d.Keys = c.a[:]
	return &c.d
}

// Table is the committed contents of one table.
type Table struct {
	Schema *TableSchema
	Rows   map[UUID]*Row

	refs    map[UUID]int      // strong references to each row from other rows
	indexes []map[string]UUID // one per Schema.Indexes: key -> row
}

func newTable(ts *TableSchema) *Table {
	t := &Table{Schema: ts, Rows: map[UUID]*Row{}, refs: map[UUID]int{}}
	for range ts.Indexes {
		t.indexes = append(t.indexes, map[string]UUID{})
	}
	return t
}

// stringIndex reports whether idx is the usual index, one required string
// column (Bridge, Port and Interface names), whose keys are the strings
// themselves, without encoding or copying. Keys are only ever compared with
// keys of the same index.
func stringIndex(idx []*ColumnSchema) bool {
	if len(idx) != 1 {
		return false
	}
	t := &idx[0].Type
	return t.Key.Type == TypeString && t.Min == 1 && t.Max == 1 && !t.IsMap()
}

// indexKey encodes the values of an index's columns in a row (see
// stringIndex).
func indexKey(idx []*ColumnSchema, r *Row) string {
	if stringIndex(idx) {
		return r.Data[idx[0].Index].Keys[0].S
	}
	var b []byte
	for _, c := range idx {
		b = r.Data[c.Index].AppendJSON(b, &c.Type)
		b = append(b, 0)
	}
	return string(b)
}

// Log stores committed transactions. Append is called with the database
// write lock held, in commit order, with one transaction record (JSON
// object); it returns a function that the caller runs after releasing the
// lock and before replying: it blocks until the record is written to the
// file and, when sync is set, durable (so that several commits can share
// one write and one fsync). As in ovsdb-server, only transactions with a
// "commit" operation whose "durable" is true are synced; every other
// commit is written (it survives the server being killed) but may be lost
// when the machine crashes.
type Log interface {
	Append(record []byte) (wait func(sync bool) error)
}

// Database is one database: its schema, committed tables, and the hooks that
// commits feed.
type Database struct {
	Schema *Schema

	mu       sync.RWMutex
	tables   map[string]*Table
	readOnly bool // client writes get "not allowed" (_Server)
	log      Log
	lastTxn  UUID
	history  []*Commit
	histRows int
	changed  chan struct{} // closed and replaced by every commit
	onCommit []func(*Commit)
	nCommits uint64
}

// NewDatabase returns an empty database for schema s.
func NewDatabase(s *Schema) *Database {
	db := &Database{Schema: s, tables: map[string]*Table{}, changed: make(chan struct{})}
	for name, ts := range s.Tables {
		db.tables[name] = newTable(ts)
	}
	return db
}

// Name returns the schema name.
func (db *Database) Name() string { return db.Schema.Name }

// SetReadOnly makes client transactions that write fail with "not allowed".
func (db *Database) SetReadOnly(ro bool) { db.readOnly = ro }

// SetLog sets where commits are made durable; nil keeps them in memory.
func (db *Database) SetLog(l Log) {
	db.mu.Lock()
	db.log = l
	db.mu.Unlock()
}

// OnCommit registers f to be called, with the write lock held and in commit
// order, with every commit. f must not block; it may read the database
// through the Locked accessors.
func (db *Database) OnCommit(f func(*Commit)) {
	db.mu.Lock()
	db.onCommit = append(db.onCommit, f)
	db.mu.Unlock()
}

// Changed returns a channel that is closed by the next commit.
func (db *Database) Changed() <-chan struct{} {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.changed
}

// RLock and RUnlock give consistent read access to committed rows (for
// monitor initial contents and dumps).
func (db *Database) RLock()   { db.mu.RLock() }
func (db *Database) RUnlock() { db.mu.RUnlock() }

// Lock and Unlock give exclusive access, for registering monitors so that no
// commit falls between the initial contents and the first update.
func (db *Database) Lock()   { db.mu.Lock() }
func (db *Database) Unlock() { db.mu.Unlock() }

// TableLocked returns the named table; the caller holds a lock.
func (db *Database) TableLocked(name string) *Table { return db.tables[name] }

// LastTxnIDLocked returns the id of the last commit (zero before any).
func (db *Database) LastTxnIDLocked() UUID { return db.lastTxn }

// Commit is one committed transaction's changes, in a form monitors and the
// storage log both use. Rows within a table are in the order the
// transaction first touched them.
type Commit struct {
	TxnID   UUID
	Date    time.Time
	Comment string
	Tables  []*TableChange
}

// TableChange lists the changed rows of one table.
type TableChange struct {
	Table *TableSchema
	Rows  []RowChange

	// diffs, set only while the commit is published (the write lock is
	// held), shares each column's Diff between the storage record and
	// the monitors.
	diffs diffCache
}

// diffCache remembers Diff results by column type and datums.
type diffCache map[diffKey]Datum

type diffKey struct {
	t        *Type
	old, new *Datum
}

// diff returns Diff(t, old, new), computed once per cache.
func (dc diffCache) diff(t *Type, old, new *Datum) Datum {
	if dc == nil || !t.IsComposite() { // a scalar's diff is just new
		return Diff(t, old, new)
	}
	k := diffKey{t, old, new}
	if d, ok := dc[k]; ok {
		return d
	}
	d := Diff(t, old, new)
	dc[k] = d
	return d
}

// RowChange is one row's change: Old is nil for an insert, New nil for a
// delete.
type RowChange struct {
	Old, New *Row
}

// rowCount returns the number of changed rows in c.
func (c *Commit) rowCount() int {
	n := 0
	for _, t := range c.Tables {
		n += len(t.Rows)
	}
	return n
}
