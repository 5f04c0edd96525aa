package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// fileMode is the mode of database files Open vSwitch creates (before the
// umask).
const fileMode = 0o640

// maxSpareSize bounds the write buffer a Log keeps for reuse between
// commits, so that one huge transaction does not pin its memory.
const maxSpareSize = 1 << 20

// Options configure Open and Create. The zero value is ready to use.
type Options struct {
	// Logger receives warnings (a torn tail cut off at Open).
	// Nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// Log is an open standalone database file, locked for writing and
// positioned for appending. Its methods may be called from several
// goroutines.
//
// Appends are linearized by mu; Commit, Compact and Close serialize their
// file I/O on ioMu and never hold mu during a write or sync, so Append does
// not wait for the disk.
type Log struct {
	path   string // as given to Open or Create, for messages
	file   string // path with symlinks resolved: Compact replaces this file
	logger *slog.Logger

	ioMu sync.Mutex
	// Under ioMu (Compact also holds mu while it swaps f):
	f    *os.File // O_APPEND; replaced by Compact
	lock *os.File // holds the fcntl lock until Close

	mu sync.Mutex
	// Under mu:
	schema   json.RawMessage
	records  []json.RawMessage
	buf      []byte // records appended but not yet written
	spare    []byte // an empty buffer to swap in for buf
	scratch  []byte // reused to encode one record body
	appended uint64 // number of records ever appended
	written  uint64 // number of appended records written to the file
	synced   uint64 // number of appended records that are durable (<= written)
	err      error  // sticky: ErrClosed or ErrBroken-wrapped
	size     int64  // bytes in the file (written, not counting buf)
	sched    compactSchedule
}

// Open opens the standalone database file at path for reading and
// appending. It takes the lock file "<dir>/.<name>.~lock~" (failing with
// ErrLocked if another process, or another Log, holds it), reads and verifies
// every record, and cuts off a damaged tail (a torn last record: nothing
// intact after it) with a warning. A damaged record followed by an intact
// one wraps ErrCorrupt, a clustered database ErrClustered.
func Open(path string, opts Options) (*Log, error) {
	l, err := open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open ovsdb log %s: %w", path, err)
	}
	return l, nil
}

func open(path string, opts Options) (*Log, error) {
	file := realPath(path)
	lock, err := lockDB(file)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		lock.Close()
		return nil, err
	}
	l, err := load(path, f, opts.logger())
	if err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	l.file = file
	l.lock = lock
	return l, nil
}

// realPath returns path with symlinks resolved, or path itself when it
// does not exist yet. Open vSwitch, too, locks and replaces the file a
// symlinked database points to, so /etc/openvswitch/conf.db may be a link.
func realPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// lockPath returns the lock file Open vSwitch uses for the database file
// file: "<dir>/.<name>.~lock~".
func lockPath(file string) string {
	dir, name := filepath.Split(file)
	return filepath.Join(dir, "."+name+".~lock~")
}

// load reads and verifies f, truncates a torn tail, and returns the Log
// without its lock.
func load(path string, f *os.File, logger *slog.Logger) (*Log, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	res, err := parseLog(data)
	if err != nil {
		return nil, err
	}
	if res.torn != "" {
		logger.Warn("ovsdb log: truncating torn last record",
			"path", path, "detail", res.torn, "offset", res.end, "dropped_bytes", len(data)-res.end)
		if err := f.Truncate(int64(res.end)); err != nil {
			return nil, fmt.Errorf("truncate torn record: %w", err)
		}
		if err := syncData(f); err != nil {
			return nil, fmt.Errorf("truncate torn record: %w", err)
		}
	}
	l := &Log{
		path:   path,
		logger: logger,
		f:      f,
		schema: res.bodies[0],
		size:   int64(res.end),
	}
	for _, b := range res.bodies[1:] {
		l.records = append(l.records, b)
	}
	// Open vSwitch measures growth from the end of the first transaction
	// record, the snapshot a compacted file starts with.
	base := res.ends[min(1, len(res.ends)-1)]
	l.sched.reset(time.Now(), int64(base))
	l.sched.records = max(len(res.bodies)-2, 0)
	return l, nil
}

// parseLog scans data, a whole database file, and checks that it has a
// schema record and that every record is a JSON object.
func parseLog(data []byte) (scanResult, error) {
	res, err := scanRecords(data)
	if err != nil {
		return res, err
	}
	if len(res.bodies) == 0 {
		if res.torn != "" {
			return res, fmt.Errorf("no intact schema record (%s): %w", res.torn, ErrCorrupt)
		}
		return res, fmt.Errorf("empty file: %w", ErrCorrupt)
	}
	if res.bodies[0][0] != '{' {
		return res, fmt.Errorf("record 0: schema is not a json object: %w", ErrCorrupt)
	}
	for i, b := range res.bodies[1:] {
		if b[0] != '{' {
			return res, fmt.Errorf("record %d: transaction is not a json object: %w", i+1, ErrCorrupt)
		}
	}
	return res, nil
}

// ReadFile reads the standalone database at path without locking or
// changing it, as ovsdb-tool's read-only commands do, and returns the
// schema record and the transaction records. A torn last record is
// ignored; damage before the end wraps ErrCorrupt.
func ReadFile(path string) (schema json.RawMessage, records []json.RawMessage, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read ovsdb log %s: %w", path, err)
	}
	res, err := parseLog(data)
	if err != nil {
		return nil, nil, fmt.Errorf("read ovsdb log %s: %w", path, err)
	}
	for _, b := range res.bodies[1:] {
		records = append(records, b)
	}
	return res.bodies[0], records, nil
}

// Create creates a new standalone database file at path holding only the
// schema record, fails if the file exists, syncs the file and its
// directory, and returns it open and locked like Open.
func Create(path string, schema json.RawMessage, opts Options) (*Log, error) {
	l, err := create(path, schema, opts)
	if err != nil {
		return nil, fmt.Errorf("create ovsdb log %s: %w", path, err)
	}
	return l, nil
}

func create(path string, schema json.RawMessage, opts Options) (*Log, error) {
	body, err := compactSchema(schema)
	if err != nil {
		return nil, err
	}
	file := realPath(path)
	lock, err := lockDB(file)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		lock.Close()
		return nil, err
	}
	rec := appendRecord(nil, body)
	if err := writeAndSync(f, rec); err != nil {
		f.Close()
		os.Remove(file)
		lock.Close()
		return nil, err
	}
	if err := syncDir(filepath.Dir(file)); err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	l := &Log{
		path:   path,
		file:   file,
		logger: opts.logger(),
		f:      f,
		lock:   lock,
		schema: body,
		size:   int64(len(rec)),
	}
	l.sched.reset(time.Now(), l.size)
	return l, nil
}

func compactSchema(schema json.RawMessage) ([]byte, error) {
	body, err := AppendCompact(nil, schema)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if body[0] != '{' {
		return nil, errors.New("schema is not a json object")
	}
	return body, nil
}

// Path returns the file name the Log was opened with.
func (l *Log) Path() string { return l.path }

// Schema returns the schema record (compact JSON). After Compact it is the
// schema Compact wrote.
func (l *Log) Schema() json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.schema
}

// Records returns the transaction records (records 1..n, compact JSON
// without the line feed) that Open read, in file order; parse them with
// ParseTxn. Records appended since are not included. The caller must not
// modify them.
func (l *Log) Records() []json.RawMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records
}

// Append queues record, one transaction record body as a JSON object, for
// writing; it is re-encoded with AppendCompact. Nothing reaches the file
// until Write, Commit, Compact or Close, so a queued record is lost in a
// crash.
func (l *Log) Append(record []byte) error {
	if t := trimSpace(record); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("append to ovsdb log %s: record is not a json object", l.path)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("append to ovsdb log %s: %w", l.path, l.err)
	}
	scratch, err := AppendCompact(l.scratch[:0], record)
	if err != nil {
		return fmt.Errorf("append to ovsdb log %s: %w", l.path, err)
	}
	l.queueLocked(scratch)
	return nil
}

// AppendCompactRecord queues record like Append, for a caller that already
// wrote it in the compact form AppendCompact produces (as the ovsdb package
// encodes commits): it is copied as is after a check for invalid UTF-8 and
// NUL escapes, the two things Open vSwitch's parser refuses that such an
// encoder could let through; a record that fails the check is re-encoded
// by Append, which reports the error.
func (l *Log) AppendCompactRecord(record []byte) error {
	if len(record) == 0 || record[0] != '{' || !utf8.Valid(record) || bytes.Contains(record, []byte(`\u0000`)) {
		return l.Append(record)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("append to ovsdb log %s: %w", l.path, l.err)
	}
	l.buf = appendRecord(l.buf, record)
	l.appended++
	l.sched.records++
	return nil
}

// AppendTxn queues t like Append. A zero t.Date is written as the current
// time.
func (l *Log) AppendTxn(t *Txn) error {
	if t.Date.IsZero() {
		c := *t
		c.Date = time.Now()
		t = &c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("append to ovsdb log %s: %w", l.path, l.err)
	}
	scratch, err := t.AppendJSON(l.scratch[:0])
	if err != nil {
		return fmt.Errorf("append to ovsdb log %s: %w", l.path, err)
	}
	l.queueLocked(scratch)
	return nil
}

// queueLocked frames body as a record at the end of the queue and keeps
// body's buffer as the next scratch buffer. mu must be held.
func (l *Log) queueLocked(body []byte) {
	l.buf = appendRecord(l.buf, body)
	l.appended++
	l.sched.records++
	if cap(body) <= maxSpareSize {
		l.scratch = body[:0]
	} else {
		l.scratch = nil
	}
}

// trimSpace trims JSON white space from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Commit writes every record queued so far and makes it durable
// (fdatasync) before returning. Concurrent Commit calls share one write and
// one sync: a Commit that finds its records already synced by another
// returns at once (group commit), and nil means every record this
// goroutine appended before calling Commit is durable. After a write or
// sync error the Log is broken: later calls return an error wrapping
// ErrBroken.
func (l *Log) Commit() error {
	if err := l.flush(true); err != nil {
		return fmt.Errorf("commit ovsdb log %s: %w", l.path, err)
	}
	return nil
}

// Write writes every record queued so far to the file without syncing it:
// the records survive the process being killed but not the machine
// crashing, which is what ovsdb-server guarantees for a transaction that
// does not ask for durability. Concurrent calls share one write, as with
// Commit.
func (l *Log) Write() error {
	if err := l.flush(false); err != nil {
		return fmt.Errorf("write ovsdb log %s: %w", l.path, err)
	}
	return nil
}

// flush writes (and with sync, syncs) every record queued so far, unless
// another call already did: the shared half of Commit and Write.
func (l *Log) flush(sync bool) error {
	l.mu.Lock()
	target, done := l.appended, l.written
	if sync {
		done = l.synced
	}
	l.mu.Unlock()
	if done >= target {
		return nil
	}
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	return l.flushLocked(target, sync)
}

// flushLocked writes the queue, and syncs the file when sync is set, unless
// record number target is already written (synced). ioMu must be held.
func (l *Log) flushLocked(target uint64, sync bool) error {
	l.mu.Lock()
	done := l.written
	if sync {
		done = l.synced
	}
	if done >= target {
		l.mu.Unlock()
		return nil
	}
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	buf, seq := l.buf, l.appended
	l.buf, l.spare = l.spare[:0], nil
	l.mu.Unlock()

	var err error
	if len(buf) > 0 {
		err = appendFile(l.f, buf)
	}
	if err == nil && sync {
		err = syncData(l.f)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if cap(buf) <= maxSpareSize {
		l.spare = buf[:0]
	}
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrBroken, err)
		return l.err
	}
	l.size += int64(len(buf))
	l.written = seq
	if sync {
		l.synced = seq
	}
	return nil
}

// Close commits queued records, closes the file and releases the lock. It
// returns the first error; later calls return nil.
func (l *Log) Close() error {
	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	l.mu.Lock()
	if errors.Is(l.err, ErrClosed) {
		l.mu.Unlock()
		return nil
	}
	target := l.appended
	l.mu.Unlock()

	err := l.flushLocked(target, true)
	l.mu.Lock()
	l.err = ErrClosed
	l.buf, l.spare, l.records = nil, nil, nil
	l.mu.Unlock()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close ovsdb log %s: %w", l.path, err)
	}
	return nil
}

// writeAndSync writes b (to an O_APPEND file) and syncs the data.
func writeAndSync(f *os.File, b []byte) error {
	if len(b) > 0 {
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return syncData(f)
}
