package storage

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
)

// TestInteropOVSDBServer serves a file we wrote with Debian's ovsdb-server,
// lets it append and compact, checks that the lock keeps us out while it
// runs, and reads what it wrote.
func TestInteropOVSDBServer(t *testing.T) {
	ours := filepath.Join(t.TempDir(), "conf.db")
	writeVswitchDB(t, ours)
	s := ovstest.StartOVSDBServer(t, &ovstest.Options{DB: ours, NoInit: true})

	if got := strings.Fields(s.Vsctl(t, "--no-wait", "list-br").Check(t)); len(got) != 1 || got[0] != bridgeName {
		t.Fatalf("ovsdb-server serving our file lists bridges %q", got)
	}
	if got := s.Get(t, "Bridge", bridgeName, "external_ids:owner"); got != fmt.Sprintf("%q", extValue) {
		t.Errorf("external_ids:owner = %s, want %q", got, extValue)
	}
	s.Vsctl(t, "--no-wait", "add-br", "br1").Check(t)
	s.Appctl(t, "ovsdb-server/compact").Check(t)
	s.Vsctl(t, "--no-wait", "br-set-external-id", "br1", "k", "v<&>").Check(t)
	s.Vsctl(t, "--no-wait", "del-br", bridgeName).Check(t)

	_, err := Open(s.DBPath, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", s.Pid())) {
		t.Fatalf("Open while ovsdb-server runs = %v, want ErrLocked naming pid %d", err, s.Pid())
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	l, err := Open(s.DBPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := l.Records()
	if len(recs) != 3 {
		t.Fatalf("%d records after ovsdb-server compact + 2 transactions, want 3", len(recs))
	}
	var comments []string
	bridges := map[string]bool{}
	for i, r := range recs {
		if c, err := AppendCompact(nil, r); err != nil || !bytes.Equal(c, r) {
			t.Errorf("record %d: AppendCompact changed ovsdb-server's bytes:\n%s\n%s (%v)", i+1, r, c, err)
		}
		txn, err := ParseTxn(r)
		if err != nil {
			t.Fatal(err)
		}
		comments = append(comments, txn.Comment)
		if i > 0 && !txn.IsDiff {
			t.Errorf("record %d: ovsdb-server 3.1 writes _is_diff", i+1)
		}
		for id, row := range txn.Tables["Bridge"] {
			bridges[id] = row != nil
		}
	}
	if comments[0] != CompactComment {
		t.Errorf("snapshot comment %q, want %q", comments[0], CompactComment)
	}
	if !strings.Contains(comments[2], "del-br") {
		t.Errorf("comments %q", comments)
	}
	if alive, ok := bridges[uuidBr]; !ok || alive {
		t.Errorf("bridge %s not deleted in the log: %v", uuidBr, bridges)
	}
	if !strings.Contains(string(recs[1]), `"v<&>"`) {
		t.Errorf("record 2 lacks raw <&>: %s", recs[1])
	}
}
