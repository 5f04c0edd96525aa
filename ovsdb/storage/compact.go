package storage

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Automatic compaction, as ovsdb-server schedules it for a standalone
// database: not before a random 10-20 minutes after the last compaction
// (or open); then when at least 100 records were added and the file is over
// 10 MiB and more than twice its size right after the last compaction; and
// after 24 hours, when any record was added at all. After a failed
// compaction the next try waits a random 1-2 minutes.
const (
	compactMinWait      = 10 * time.Minute
	compactMinJitter    = 10 * time.Minute
	compactMaxWait      = 24 * time.Hour
	compactRetryWait    = time.Minute
	compactRetryJitter  = time.Minute
	compactMinRecords   = 100
	compactMinFileSize  = 10 << 20
	compactGrowthFactor = 2
)

// compactSchedule is the state of the automatic compaction rule.
type compactSchedule struct {
	records int   // transaction records added after the snapshot record
	base    int64 // file size right after the last snapshot
	minTime time.Time
	maxTime time.Time
}

func (s *compactSchedule) reset(now time.Time, base int64) {
	s.records = 0
	s.base = base
	s.minTime = now.Add(compactMinWait + rand.N(compactMinJitter))
	s.maxTime = now.Add(compactMaxWait)
}

func (s *compactSchedule) retrySoon(now time.Time) {
	s.minTime = now.Add(compactRetryWait + rand.N(compactRetryJitter))
}

func (s *compactSchedule) due(now time.Time, size int64) bool {
	if now.Before(s.minTime) {
		return false
	}
	if now.Before(s.maxTime) {
		return s.records >= compactMinRecords && size > compactMinFileSize &&
			size/compactGrowthFactor > s.base
	}
	return s.records > 0
}

// ShouldCompact reports whether Open vSwitch's automatic compaction rule
// says the server should call Compact now (see the constants above); the
// server calls it after committing, or from a timer.
func (l *Log) ShouldCompact(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false
	}
	return l.sched.due(now, l.size+int64(len(l.buf)))
}

// Compact replaces the file with two records: schema and snapshot, the
// whole database as one transaction record of full rows (table -> row UUID
// -> row object) with "_comment":"compacting database online". It writes
// "<file>.tmp", syncs it, renames it over the file and syncs the directory
// (file is the path given to Open with symlinks resolved, so a symlinked
// database stays a symlink); the
// lock stays held and later records are appended to the new file.
//
// Records queued before Compact are first committed to the old file.
// snapshot must hold exactly the effect of every record appended before
// Compact was called, so the caller must not call Append or AppendTxn
// concurrently with Compact (Commit is fine). On failure before the rename
// the old file is kept and stays in use, and ShouldCompact waits a minute or
// two before it suggests another try. Compact drops the records returned by
// Records.
func (l *Log) Compact(schema json.RawMessage, snapshot map[string]map[string]json.RawMessage) error {
	if err := l.compact(schema, snapshot); err != nil {
		return fmt.Errorf("compact ovsdb log %s: %w", l.path, err)
	}
	return nil
}

func (l *Log) compact(schema json.RawMessage, snapshot map[string]map[string]json.RawMessage) error {
	schemaBody, err := compactSchema(schema)
	if err != nil {
		return err
	}
	snap := Txn{Tables: snapshot, Date: time.Now(), Comment: CompactComment}
	body, err := snap.AppendJSON(nil)
	if err != nil {
		return err
	}
	data := make([]byte, 0, len(schemaBody)+len(body)+2*maxHeaderSize)
	data = appendRecord(appendRecord(data, schemaBody), body)

	l.ioMu.Lock()
	defer l.ioMu.Unlock()
	l.mu.Lock()
	target := l.appended
	l.mu.Unlock()
	if err := l.flushLocked(target, true); err != nil {
		return err
	}
	nf, err := l.writeTemp(data)
	if err == nil {
		err = os.Rename(l.file+".tmp", l.file)
		if err != nil {
			nf.Close()
			os.Remove(l.file + ".tmp")
		}
	}
	if err != nil {
		l.mu.Lock()
		l.sched.retrySoon(time.Now())
		l.mu.Unlock()
		return err
	}

	l.mu.Lock()
	old := l.f
	l.f = nf
	l.size = int64(len(data))
	l.schema = schemaBody
	l.records = nil
	l.sched.reset(time.Now(), l.size)
	l.mu.Unlock()
	old.Close()

	if err := syncDir(filepath.Dir(l.file)); err != nil {
		// The rename may not survive a crash, and records appended
		// from now on would go to the new file: stop here.
		l.mu.Lock()
		l.err = fmt.Errorf("%w: %w", ErrBroken, err)
		l.mu.Unlock()
		return err
	}
	return nil
}

// writeTemp writes data to "<path>.tmp" (replacing a leftover one) with the
// mode of the current file, syncs it and returns it open for appending.
func (l *Log) writeTemp(data []byte) (*os.File, error) {
	mode := os.FileMode(fileMode)
	if fi, err := l.f.Stat(); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp := l.file + ".tmp"
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, mode)
	if err != nil {
		return nil, err
	}
	// A leftover temporary file keeps its own mode through O_TRUNC.
	err = nf.Chmod(mode)
	if err == nil {
		err = writeAndSync(nf, data)
	}
	if err != nil {
		nf.Close()
		os.Remove(tmp)
		return nil, err
	}
	return nf, nil
}
