package storage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchTxn is a small transaction like one ovs-vsctl set writes.
func benchTxn() *Txn {
	return &Txn{
		Tables: map[string]map[string]json.RawMessage{
			"Open_vSwitch": {uuidOVS: json.RawMessage(`{"next_cfg":42}`)},
			"Bridge":       {uuidBr: json.RawMessage(`{"external_ids":["map",[["owner","bench"]]]}`)},
		},
		Date:    time.UnixMilli(1795630685958),
		Comment: "ovs-vsctl: set bridge br0 external_ids:owner=bench",
		IsDiff:  true,
	}
}

func benchLog(b *testing.B) (*Log, int64) {
	b.Helper()
	l, err := Create(filepath.Join(b.TempDir(), "db"), json.RawMessage(testSchema), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	body, err := benchTxn().AppendJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	return l, int64(len(appendRecord(nil, body)))
}

// BenchmarkAppendDurable measures one small record made durable per
// operation: encode, write, fdatasync. The temporary directory ($TMPDIR)
// must be on a real disk for the number to mean anything.
func BenchmarkAppendDurable(b *testing.B) {
	l, size := benchLog(b)
	txn := benchTxn()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.AppendTxn(txn); err != nil {
			b.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendDurableGrouped measures the same with several committing
// goroutines (b.SetParallelism(8) per CPU): concurrent Commit calls share
// one write and one fdatasync.
func BenchmarkAppendDurableGrouped(b *testing.B) {
	l, size := benchLog(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		txn := benchTxn()
		for pb.Next() {
			if err := l.AppendTxn(txn); err != nil {
				b.Error(err)
				return
			}
			if err := l.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendDurableBatch32 appends 32 records per Commit, as one
// goroutine draining a queue of transactions would; it reports per record.
func BenchmarkAppendDurableBatch32(b *testing.B) {
	const batch = 32
	l, size := benchLog(b)
	txn := benchTxn()
	b.SetBytes(size)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := l.AppendTxn(txn); err != nil {
			b.Fatal(err)
		}
		if n++; n%batch == 0 {
			if err := l.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := l.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppendTxnQueued measures encoding and queueing alone, the part
// of Append that runs under the Log's mutex.
func BenchmarkAppendTxnQueued(b *testing.B) {
	l, size := benchLog(b)
	txn := benchTxn()
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := l.AppendTxn(txn); err != nil {
			b.Fatal(err)
		}
		if i++; i%1024 == 0 {
			b.StopTimer()
			l.mu.Lock()
			l.buf = l.buf[:0] // drop instead of writing
			l.written, l.synced = l.appended, l.appended
			l.mu.Unlock()
			b.StartTimer()
		}
	}
}

// BenchmarkOpen measures opening a 10,000-record file: read, verify every
// SHA-1 and JSON body, take the lock.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "db")
	l, err := Create(path, json.RawMessage(testSchema), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		if err := l.AppendTxn(row(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		l, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}

// TestAppendCommitAllocs backs the zero-allocation steady state of the
// durable append path (encode, queue, write, fdatasync).
func TestAppendCommitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: the race detector allocates; run without -race")
	}
	l := mustCreate(t, filepath.Join(t.TempDir(), "db"))
	defer l.Close()
	txn := benchTxn()
	step := func() {
		if err := l.AppendTxn(txn); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Fatalf("AppendTxn+Commit: %v allocations per run, want 0", n)
	}
}
