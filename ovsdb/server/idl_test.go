package server_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/ovsdbtest"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

const pythonIDLScript = `
import sys, ovs.db.idl, ovs.poller, ovs.vlog
ovs.vlog.Vlog.set_levels_from_string("console:emer")
remote, schema = sys.argv[1], sys.argv[2]
helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_all()
idl = ovs.db.idl.Idl(remote, helper)

def run_until(cond):
    for _ in range(2000):
        idl.run()
        if cond():
            return
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.timer_wait(10)
        poller.block()
    sys.exit("timed out")

run_until(lambda: idl.has_ever_connected() and len(idl.tables["Open_vSwitch"].rows) == 1)
ovsrow = list(idl.tables["Open_vSwitch"].rows.values())[0]

def commit(fn):
    while True:
        txn = ovs.db.idl.Transaction(idl)
        fn(txn)
        status = txn.commit_block()
        if status in (ovs.db.idl.Transaction.SUCCESS, ovs.db.idl.Transaction.UNCHANGED):
            return
        if status != ovs.db.idl.Transaction.TRY_AGAIN:
            sys.exit("commit failed: %s %s" % (status, txn.get_error()))
        run_until(lambda: True)

def add(txn):
    iface = txn.insert(idl.tables["Interface"])
    iface.name = "pyif"
    port = txn.insert(idl.tables["Port"])
    port.name = "pyport"
    port.interfaces = [iface]
    br = txn.insert(idl.tables["Bridge"])
    br.name = "pybr"
    br.ports = [port]
    br.external_ids = {"a": "1", "b": "2"}
    ovsrow.addvalue("bridges", br.uuid)
commit(add)
run_until(lambda: any(r.name == "pybr" for r in idl.tables["Bridge"].rows.values()))

def modify(txn):
    br = [r for r in idl.tables["Bridge"].rows.values() if r.name == "pybr"][0]
    br.setkey("external_ids", "c", "3")
    br.delkey("external_ids", "a")
commit(modify)
run_until(lambda: [r for r in idl.tables["Bridge"].rows.values() if r.name == "pybr"][0].external_ids == {"b": "2", "c": "3"})
print(sorted(r.name for r in idl.tables["Interface"].rows.values()))
idl.close()
`

// TestPythonIDL drives our server with Debian's python3-openvswitch IDL:
// _Server check, monitor_cond_since, inserts with named-uuid references,
// partial map updates (mutate) and update3 diffs applied to the replica.
func TestPythonIDL(t *testing.T) {
	py := "/usr/bin/python3"
	_, err := os.Stat(py)
	testutil.Require(t, err == nil, "%s not installed", py)
	err = exec.Command(py, "-c", "import ovs.db.idl").Run()
	testutil.Require(t, err == nil, "python3-openvswitch not installed")
	sock := "unix:" + ovsdbtest.Start(t)
	ovsVsctl(t, sock, "--no-wait", "init", "--", "add-br", "br0")
	schema, err := os.CreateTemp(t.TempDir(), "schema")
	if err != nil {
		t.Fatal(err)
	}
	schema.Write(vswitch.SchemaJSON)
	schema.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", pythonIDLScript, sock, schema.Name()).CombinedOutput()
	if err != nil {
		t.Fatalf("python IDL: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "['br0', 'pyif']" {
		t.Fatalf("python IDL output %q", got)
	}
	if got := ovsVsctl(t, sock, "get", "Bridge", "pybr", "external_ids"); got != `{b="2", c="3"}` {
		t.Fatalf("external_ids = %s", got)
	}
}
