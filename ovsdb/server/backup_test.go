package server_test

import (
	"os"
	"testing"

	"github.com/gvswitch/gvswitch/internal/ovstest"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
)

// TestBackupRestore runs ovsdb-client backup against one of our servers
// and restore (inserts with explicit "uuid") into another.
func TestBackupRestore(t *testing.T) {
	bins := ovstest.FindBinaries(t)
	a := "unix:" + ovsdbtest.Start(t)
	b := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, a, "--no-wait", "init", "--", "add-br", "br0", "--", "add-port", "br0", "p1", "tag=5", "--",
		"set", "Bridge", "br0", "external-ids:k=v", "--", "--id=@q", "create", "QoS", "type=linux-htb", "--", "set", "Port", "p1", "qos=@q")
	backup := ovstest.OvsdbClient(t, "backup", a).Check(t)
	// restore seeks in its input: give it a file.
	file := t.TempDir() + "/backup.db"
	if err := os.WriteFile(file, []byte(backup), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ovstest.RunCmd(t, ovstest.Cmd{Bin: "/bin/sh", Args: []string{"-c", `exec "$0" restore "$1" < "$2"`, bins.OvsdbClient, b, file}})
	if !r.OK() {
		t.Fatalf("restore: %s", r)
	}
	want := ovstest.OvsdbClient(t, "dump", a).Check(t)
	got := ovstest.OvsdbClient(t, "dump", b).Check(t)
	// restore gives rows new UUIDs (Debian's servers do the same).
	if unordered(want) != unordered(got) {
		t.Fatalf("restored contents differ:\n%s\n---\n%s", want, got)
	}
}
