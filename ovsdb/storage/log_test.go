package storage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockHelperEnv makes the test binary a helper process that holds a classic
// fcntl lock on the named file, as ovsdb-server does, until stdin closes.
const lockHelperEnv = "GVS_STORAGE_LOCK_HELPER"

func TestMain(m *testing.M) {
	if p := os.Getenv(lockHelperEnv); p != "" {
		os.Exit(holdLock(p))
	}
	os.Exit(m.Run())
}

func holdLock(path string) int {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

const testSchema = `{"name":"Test","version":"1.0.0","tables":{"T":{"columns":{"name":{"type":"string"}}}}}`

// testLogger returns a logger writing into buf.
func testLogger(buf *bytes.Buffer) Options {
	return Options{Logger: slog.New(slog.NewTextHandler(buf, nil))}
}

func mustCreate(t testing.TB, path string) *Log {
	t.Helper()
	l, err := Create(path, json.RawMessage(testSchema), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func row(i int) *Txn {
	id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	return &Txn{
		Tables:  map[string]map[string]json.RawMessage{"T": {id: json.RawMessage(fmt.Sprintf(`{"name":"row %d"}`, i))}},
		Date:    time.UnixMilli(1795630685958 + int64(i)),
		Comment: fmt.Sprintf("txn %d", i),
		IsDiff:  true,
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	for i := range 5 {
		if err := l.AppendTxn(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append([]byte(` {"_comment":"raw <record>", "T" : {}} `)); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.AppendTxn(row(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("AppendTxn after Close = %v, want ErrClosed", err)
	}

	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if string(l.Schema()) != testSchema {
		t.Errorf("schema = %s", l.Schema())
	}
	recs := l.Records()
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6", len(recs))
	}
	for i := range 5 {
		txn, err := ParseTxn(recs[i])
		if err != nil {
			t.Fatal(err)
		}
		want := row(i)
		if txn.Comment != want.Comment || !txn.Date.Equal(want.Date) || !txn.IsDiff {
			t.Errorf("record %d = %+v", i+1, txn)
		}
	}
	if string(recs[5]) != `{"_comment":"raw <record>","T":{}}` {
		t.Errorf("raw record = %s", recs[5])
	}
	// Appending continues after the last record.
	if err := l.AppendTxn(row(6)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if n := len(l2.Records()); n != 7 {
		t.Fatalf("%d records after reopen, want 7", n)
	}
}

func TestCreateExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	mustCreate(t, path).Close()
	if _, err := Create(path, json.RawMessage(testSchema), Options{}); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Create over existing file = %v, want ErrExist", err)
	}
	if _, err := Create(filepath.Join(t.TempDir(), "db"), json.RawMessage(`[1]`), Options{}); err == nil {
		t.Fatal("Create with a non-object schema succeeded")
	}
}

func TestAppendRejects(t *testing.T) {
	l := mustCreate(t, filepath.Join(t.TempDir(), "db"))
	defer l.Close()
	for _, rec := range []string{``, `  `, `[1]`, `{"a":`, `{"a":"\u0000"}`} {
		if err := l.Append([]byte(rec)); err == nil {
			t.Errorf("Append(%q) succeeded", rec)
		}
	}
	if err := l.AppendTxn(&Txn{Tables: map[string]map[string]json.RawMessage{"T": {"x": nil}}}); err == nil {
		t.Error("AppendTxn with a bad uuid succeeded")
	}
	// Rejected records leave nothing behind.
	if err := l.AppendTxn(row(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(l.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if n := len(l2.Records()); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

func TestTornLastRecordDropped(t *testing.T) {
	for _, cut := range []int{1, 10, 60, 80} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db")
			l := mustCreate(t, path)
			for i := range 3 {
				if err := l.AppendTxn(row(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			intact, _ := os.ReadFile(path)
			// Write part of a fourth record, as a crash would leave it.
			next, _ := row(3).AppendJSON(nil)
			partial := appendRecord(nil, next)[:cut]
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(partial)
			f.Close()

			var logs bytes.Buffer
			l, err := Open(path, testLogger(&logs))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(l.Records()); n != 3 {
				t.Errorf("%d records, want 3", n)
			}
			if !strings.Contains(logs.String(), "torn") {
				t.Errorf("no warning logged: %q", logs.String())
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, intact) {
				t.Errorf("file not truncated to %d bytes (is %d)", len(intact), len(got))
			}
			if err := l.AppendTxn(row(4)); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if n := len(l.Records()); n != 4 {
				t.Errorf("%d records after append, want 4", n)
			}
		})
	}
}

func TestCorruptMiddleRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	for i := range 3 {
		l.AppendTxn(row(i))
	}
	l.Close()
	data, _ := os.ReadFile(path)
	before := bytes.Clone(data)
	i := bytes.Index(data, []byte("row 1"))
	data[i] = 'R'
	os.WriteFile(path, data, 0o640)
	if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("Open = %v, want ErrCorrupt naming record 2", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) || bytes.Equal(got, before) {
		t.Fatal("Open modified a corrupt file")
	}
	// The failed Open released its lock.
	os.WriteFile(path, before, 0o640)
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o640)
	torn := filepath.Join(dir, "torn")
	os.WriteFile(torn, records(testSchema)[:30], 0o640)
	arr := filepath.Join(dir, "arr")
	os.WriteFile(arr, records(`[1]`), 0o640)
	txnArr := filepath.Join(dir, "txnarr")
	os.WriteFile(txnArr, records(testSchema, `[1]`), 0o640)
	for _, p := range []string{empty, torn, arr, txnArr} {
		if _, err := Open(p, Options{}); !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(err.Error(), "open ovsdb log "+p) {
			t.Errorf("Open(%s) = %v, want ErrCorrupt with context", filepath.Base(p), err)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
}

func TestLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf.db")
	l := mustCreate(t, path)
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), ".conf.db.~lock~")); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	// A symlink to the database shares its lock file.
	link := filepath.Join(t.TempDir(), "link.db")
	os.Symlink(path, link)
	if _, err := Open(link, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open through symlink = %v, want ErrLocked", err)
	}
	l.Close()
	l, err := Open(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestLockOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf.db")
	mustCreate(t, path).Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+lockPath(path))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("Open while another process holds the lock = %v, want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	stdin.Close()
	cmd.Wait()
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the other process exited: %v", err)
	}
	l.Close()
}

func TestGroupCommitConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := l.AppendTxn(row(w*each + i)); err != nil {
					errs <- err
					return
				}
				if err := l.Commit(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l.Close()
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := map[string]bool{}
	for _, r := range l.Records() {
		txn, err := ParseTxn(r)
		if err != nil {
			t.Fatal(err)
		}
		seen[txn.Comment] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct records, want %d", len(seen), writers*each)
	}
}

// TestWriteWithoutSync: Write puts queued records in the file (another
// reader sees them while the Log is open), mixing with Commit in order.
func TestWriteWithoutSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	defer l.Close()
	for i := range 3 {
		if err := l.AppendTxn(row(i)); err != nil {
			t.Fatal(err)
		}
		if err := l.Write(); err != nil {
			t.Fatal(err)
		}
		_, recs, err := ReadFile(path)
		if err != nil || len(recs) != i+1 {
			t.Fatalf("after Write %d: %d records, %v", i, len(recs), err)
		}
	}
	if err := l.Write(); err != nil { // nothing queued
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil { // syncs what Write wrote
		t.Fatal(err)
	}
	if err := l.AppendTxn(row(3)); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	_, recs, err := ReadFile(path)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for i, r := range recs {
		txn, err := ParseTxn(r)
		if err != nil || txn.Comment != row(i).Comment {
			t.Fatalf("record %d: %v %v", i, txn, err)
		}
	}
}

func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	// A temporary file left by a crash during an earlier compaction.
	os.WriteFile(path+".tmp", []byte("leftover"), 0o600)
	defer l.Close()
	for i := range 10 {
		l.AppendTxn(row(i))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	snap := map[string]map[string]json.RawMessage{"T": {uuidBr: json.RawMessage(`{"name":"only"}`)}}
	if err := l.Compact(json.RawMessage(testSchema), snap); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	if l.Records() != nil {
		t.Error("Records not dropped by Compact")
	}
	if err := l.AppendTxn(row(20)); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	// Read the file with a second reader while the lock is held.
	data, _ := os.ReadFile(path)
	res, err := scanRecords(data)
	if err != nil || res.torn != "" || len(res.bodies) != 3 {
		t.Fatalf("after Compact: %d records, %v %q", len(res.bodies), err, res.torn)
	}
	txn, err := ParseTxn(res.bodies[1])
	if err != nil || txn.Comment != CompactComment || txn.IsDiff || string(txn.Tables["T"][uuidBr]) != `{"name":"only"}` {
		t.Fatalf("snapshot record = %s (%v)", res.bodies[1], err)
	}
	if fi2, err := os.Stat(path); err != nil || fi2.Mode() != fi.Mode() {
		t.Errorf("mode after Compact: %v, want %v (%v)", fi2.Mode(), fi.Mode(), err)
	}
}

func TestShouldCompact(t *testing.T) {
	l := mustCreate(t, filepath.Join(t.TempDir(), "db"))
	defer l.Close()
	now := time.Now()
	if l.ShouldCompact(now.Add(25 * time.Hour)) {
		t.Error("ShouldCompact with no records after 24h")
	}
	l.AppendTxn(row(1))
	if l.ShouldCompact(now.Add(time.Hour)) {
		t.Error("ShouldCompact for one small record after 1h")
	}
	if !l.ShouldCompact(now.Add(25 * time.Hour)) {
		t.Error("not ShouldCompact after 24h with a record")
	}
	if l.ShouldCompact(now.Add(5 * time.Minute)) {
		t.Error("ShouldCompact within the first 10 minutes")
	}
	// Grow past 10 MiB with 100+ records.
	big := strings.Repeat("x", 110<<10)
	for i := range 100 {
		txn := row(i)
		txn.Comment = big
		if err := l.AppendTxn(txn); err != nil {
			t.Fatal(err)
		}
	}
	if l.ShouldCompact(now.Add(9 * time.Minute)) {
		t.Error("ShouldCompact before the minimum wait")
	}
	if !l.ShouldCompact(now.Add(21 * time.Minute)) {
		t.Error("not ShouldCompact with 100 records and 11 MiB after 21 minutes")
	}
	if err := l.Compact(json.RawMessage(testSchema), nil); err != nil {
		t.Fatal(err)
	}
	if l.ShouldCompact(time.Now().Add(21 * time.Minute)) {
		t.Error("ShouldCompact right after Compact")
	}
}

func TestSymlinkedDatabase(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	mustCreate(t, real).Close()
	link := filepath.Join(t.TempDir(), "conf.db")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	l, err := Open(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := os.Stat(filepath.Join(dir, ".real.db.~lock~")); err != nil {
		t.Errorf("lock file not next to the real file: %v", err)
	}
	if err := l.Compact(json.RawMessage(testSchema), nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("Compact replaced the symlink: %v %v", fi.Mode(), err)
	}
	l.AppendTxn(row(1))
	l.Commit()
	_, recs, err := ReadFile(real)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ReadFile(real) = %d records, %v", len(recs), err)
	}
}

func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	l.AppendTxn(row(1))
	l.Commit()
	// ReadFile works while the Log holds the lock, and ignores a torn
	// tail without truncating it.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("OVSDB JSON 12"))
	f.Close()
	fi, _ := os.Stat(path)
	schema, recs, err := ReadFile(path)
	if err != nil || string(schema) != testSchema || len(recs) != 1 {
		t.Fatalf("ReadFile = %s, %d records, %v", schema, len(recs), err)
	}
	if fi2, _ := os.Stat(path); fi2.Size() != fi.Size() {
		t.Error("ReadFile changed the file")
	}
	l.Close()
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v", err)
	}
}

func TestWriteErrorBreaksLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	l := mustCreate(t, path)
	if err := l.AppendTxn(row(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	// Swap in a read-only descriptor so that the next write fails.
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.ioMu.Lock()
	rw := l.f
	l.f = ro
	l.ioMu.Unlock()
	rw.Close()
	l.AppendTxn(row(2))
	if err := l.Commit(); !errors.Is(err, ErrBroken) {
		t.Fatalf("Commit with a failing write = %v, want ErrBroken", err)
	}
	if err := l.AppendTxn(row(3)); !errors.Is(err, ErrBroken) {
		t.Fatalf("AppendTxn after a failed write = %v, want ErrBroken", err)
	}
	if l.ShouldCompact(time.Now().Add(48 * time.Hour)) {
		t.Error("ShouldCompact on a broken log")
	}
	if err := l.Close(); !errors.Is(err, ErrBroken) {
		t.Errorf("Close of a broken log = %v, want ErrBroken", err)
	}
	l, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := len(l.Records()); n != 1 {
		t.Fatalf("%d records after reopen, want 1", n)
	}
}
