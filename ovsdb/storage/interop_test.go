package storage

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

// Interop tests against Debian's Open vSwitch 3.1 ovsdb-tool: it reads the
// files this package writes, and this package reads the files it writes.

const (
	uuidPort  = "5b7cdd4c-6a3b-4a57-9f3a-2a8a1e0f1c01"
	uuidIface = "6c8dee5d-7b4c-4b68-8a4b-3b9b2f102d02"
	// bridgeName has characters Go's encoding/json would escape.
	bridgeName = "br0"
	extValue   = "a<b>&c \u00e9 \"q\""
)

type ovsdbTool struct {
	t    *testing.T
	path string
}

func requireOVSDBTool(t *testing.T) ovsdbTool {
	t.Helper()
	return ovsdbTool{t: t, path: testutil.RequireBinary(t, "ovsdb-tool")}
}

// run runs ovsdb-tool and returns its standard output, failing the test
// when it exits non-zero.
func (o ovsdbTool) run(args ...string) string {
	o.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(o.path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		o.t.Fatalf("ovsdb-tool %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func schemaFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "vswitch.ovsschema")
	if err := os.WriteFile(p, vswitch.SchemaJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInteropReadToolFile(t *testing.T) {
	tool := requireOVSDBTool(t)
	db := filepath.Join(t.TempDir(), "conf.db")
	tool.run("create", db, schemaFile(t))
	out := tool.run("transact", db, `["Open_vSwitch",
		{"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","br"]}},
		{"op":"insert","table":"Bridge","uuid-name":"br","row":{"name":"br0","ports":["named-uuid","p"],
		 "external_ids":["map",[["k","a<b>&c \u00e9 \"q\"\n\t\u0001"]]]}},
		{"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0","interfaces":["named-uuid","i"]}},
		{"op":"insert","table":"Interface","uuid-name":"i","row":{"name":"br0","type":"internal"}},
		{"op":"comment","comment":"add-br <br0>"}]`)
	var res []struct {
		UUID []string `json:"uuid"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) < 2 {
		t.Fatalf("transact output %q: %v", out, err)
	}
	brUUID := res[1].UUID[1]
	tool.run("transact", db, `["Open_vSwitch",
		{"op":"mutate","table":"Bridge","where":[["name","==","br0"]],
		 "mutations":[["external_ids","insert",["map",[["k2","v2"]]]]]}]`)

	l, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// While we hold the lock, ovsdb-tool must refuse to write.
	cmd := exec.Command(tool.path, "transact", db, `["Open_vSwitch"]`)
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "lock") {
		t.Errorf("ovsdb-tool transact while locked: %v %s", err, msg)
	}
	defer l.Close()

	var schema struct{ Name, Version string }
	if err := json.Unmarshal(l.Schema(), &schema); err != nil || schema.Name != "Open_vSwitch" || schema.Version != "8.3.1" {
		t.Fatalf("schema %q %q: %v", schema.Name, schema.Version, err)
	}
	recs := l.Records()
	if len(recs) != 2 {
		t.Fatalf("%d transaction records, want 2", len(recs))
	}
	for i, r := range recs {
		// Byte for byte, our compact JSON is what Open vSwitch writes.
		if c, err := AppendCompact(nil, r); err != nil || !bytes.Equal(c, r) {
			t.Errorf("record %d: AppendCompact changed OVS's bytes:\n%s\n%s (%v)", i+1, r, c, err)
		}
	}
	first, err := ParseTxn(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if first.Comment != "add-br <br0>" || !first.IsDiff || time.Since(first.Date) > time.Hour {
		t.Errorf("record 1 meta: %q %v %v", first.Comment, first.IsDiff, first.Date)
	}
	br := first.Tables["Bridge"][brUUID]
	var cols struct {
		Name        string          `json:"name"`
		ExternalIDs json.RawMessage `json:"external_ids"`
	}
	if err := json.Unmarshal(br, &cols); err != nil || cols.Name != "br0" {
		t.Fatalf("Bridge row %s: %v", br, err)
	}
	if !strings.Contains(string(cols.ExternalIDs), "a<b>&c é") {
		t.Errorf("external_ids %s", cols.ExternalIDs)
	}
	for _, table := range []string{"Open_vSwitch", "Port", "Interface"} {
		if len(first.Tables[table]) != 1 {
			t.Errorf("table %s: %d rows", table, len(first.Tables[table]))
		}
	}
	second, err := ParseTxn(recs[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(second.Tables["Bridge"][brUUID]); got != `{"external_ids":["map",[["k2","v2"]]]}` {
		t.Errorf("diff record row = %s", got)
	}
}

// writeVswitchDB creates db with our code: an Open_vSwitch row, a bridge
// with its port and interface, and an _is_diff modify adding external_ids.
func writeVswitchDB(t *testing.T, db string) (bridgeUUID string) {
	l, err := Create(db, vswitch.SchemaJSON, Options{})
	if err != nil {
		t.Fatal(err)
	}
	insert := &Txn{
		Tables: map[string]map[string]json.RawMessage{
			"Open_vSwitch": {uuidOVS: json.RawMessage(`{"bridges":["uuid","` + uuidBr + `"],"next_cfg":1}`)},
			"Bridge":       {uuidBr: json.RawMessage(`{"name":"br0","ports":["uuid","` + uuidPort + `"]}`)},
			"Port":         {uuidPort: json.RawMessage(`{"name":"br0","interfaces":["uuid","` + uuidIface + `"]}`)},
			"Interface":    {uuidIface: json.RawMessage(`{"name":"br0","type":"internal"}`)},
		},
		Date:    time.Now(),
		Comment: "ovs-vsctl: add-br br0",
		IsDiff:  true,
	}
	if err := l.AppendTxn(insert); err != nil {
		t.Fatal(err)
	}
	modify := &Txn{
		Tables: map[string]map[string]json.RawMessage{
			"Bridge": {uuidBr: json.RawMessage(`{"external_ids":["map",[["owner","` + strings.ReplaceAll(extValue, `"`, `\"`) + `"]]]}`)},
		},
		Date:   time.Now(),
		IsDiff: true,
	}
	if err := l.AppendTxn(modify); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return uuidBr
}

const selectBridge = `["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["_uuid","name","external_ids","ports"]}]`

func checkBridgeQuery(t *testing.T, out string) {
	t.Helper()
	var res []struct {
		Rows []struct {
			UUID        []string        `json:"_uuid"`
			Name        string          `json:"name"`
			ExternalIDs json.RawMessage `json:"external_ids"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || len(res[0].Rows) != 1 {
		t.Fatalf("query output %q: %v", out, err)
	}
	r := res[0].Rows[0]
	if r.UUID[1] != uuidBr || r.Name != bridgeName {
		t.Errorf("bridge row %+v", r)
	}
	var ext []json.RawMessage
	json.Unmarshal(r.ExternalIDs, &ext)
	var pairs [][2]string
	if len(ext) == 2 {
		json.Unmarshal(ext[1], &pairs)
	}
	if len(pairs) != 1 || pairs[0] != [2]string{"owner", extValue} {
		t.Errorf("external_ids = %s, want owner=%q", r.ExternalIDs, extValue)
	}
}

func TestInteropToolReadsOurFile(t *testing.T) {
	tool := requireOVSDBTool(t)
	db := filepath.Join(t.TempDir(), "conf.db")
	writeVswitchDB(t, db)

	if v := strings.TrimSpace(tool.run("db-version", db)); v != "8.3.1" {
		t.Errorf("db-version = %q", v)
	}
	if n := strings.TrimSpace(tool.run("db-name", db)); n != "Open_vSwitch" {
		t.Errorf("db-name = %q", n)
	}
	log := tool.run("show-log", "-m", db)
	for _, want := range []string{
		`record 0: "Open_vSwitch" schema, version="8.3.1"`,
		`"ovs-vsctl: add-br br0"`,
		`table Bridge insert row "br0"`,
		`table Interface insert row "br0"`,
		`record 2:`,
		`table Bridge row "br0" (` + uuidBr[:8] + `) diff:`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("show-log -m lacks %q:\n%s", want, log)
		}
	}
	checkBridgeQuery(t, tool.run("query", db, selectBridge))
}

func TestInteropToolReadsCompacted(t *testing.T) {
	tool := requireOVSDBTool(t)
	db := filepath.Join(t.TempDir(), "conf.db")
	writeVswitchDB(t, db)
	l, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	snap := map[string]map[string]json.RawMessage{
		"Open_vSwitch": {uuidOVS: json.RawMessage(`{"bridges":["uuid","` + uuidBr + `"],"next_cfg":1}`)},
		"Bridge": {uuidBr: json.RawMessage(`{"name":"br0","ports":["uuid","` + uuidPort + `"],` +
			`"external_ids":["map",[["owner","` + strings.ReplaceAll(extValue, `"`, `\"`) + `"]]]}`)},
		"Port":      {uuidPort: json.RawMessage(`{"name":"br0","interfaces":["uuid","` + uuidIface + `"]}`)},
		"Interface": {uuidIface: json.RawMessage(`{"name":"br0","type":"internal"}`)},
	}
	if err := l.Compact(vswitch.SchemaJSON, snap); err != nil {
		t.Fatal(err)
	}
	// Append after compaction: the log continues in the new file.
	if err := l.AppendTxn(&Txn{
		Tables: map[string]map[string]json.RawMessage{"Open_vSwitch": {uuidOVS: json.RawMessage(`{"next_cfg":2}`)}},
		IsDiff: true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	// ovsdb-tool's read-only commands need no lock.
	log := tool.run("show-log", db)
	if !strings.Contains(log, `record 1: `) || !strings.Contains(log, `"compacting database online"`) ||
		!strings.Contains(log, "record 2: ") || strings.Contains(log, "record 3") {
		t.Errorf("show-log after Compact:\n%s", log)
	}
	checkBridgeQuery(t, tool.run("query", db, selectBridge))
	out := tool.run("query", db, `["Open_vSwitch",{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]`)
	if !strings.Contains(out, `"next_cfg":2`) {
		t.Errorf("next_cfg after append: %s", out)
	}
}

func TestInteropReadToolCompacted(t *testing.T) {
	tool := requireOVSDBTool(t)
	db := filepath.Join(t.TempDir(), "conf.db")
	writeVswitchDB(t, db)
	tool.run("compact", db)

	l, err := Open(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := l.Records()
	if len(recs) != 1 {
		t.Fatalf("%d records after ovsdb-tool compact, want 1", len(recs))
	}
	snap, err := ParseTxn(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(snap.Comment, "compacted by ovsdb-tool") || snap.IsDiff {
		t.Errorf("snapshot meta %q %v", snap.Comment, snap.IsDiff)
	}
	row := string(snap.Tables["Bridge"][uuidBr])
	if !strings.Contains(row, `"owner"`) || !strings.Contains(row, `a<b>&c é`) {
		t.Errorf("Bridge row in snapshot: %s", row)
	}
	if c, err := AppendCompact(nil, recs[0]); err != nil || !bytes.Equal(c, recs[0]) {
		t.Errorf("AppendCompact changed ovsdb-tool's snapshot bytes (%v)", err)
	}
	// And we can keep appending to ovsdb-tool's file.
	if err := l.AppendTxn(&Txn{
		Tables: map[string]map[string]json.RawMessage{
			"Bridge": {uuidBr: nil}, "Port": {uuidPort: nil}, "Interface": {uuidIface: nil},
			// With _is_diff, a set value is the set of elements to toggle.
			"Open_vSwitch": {uuidOVS: json.RawMessage(`{"bridges":["uuid","` + uuidBr + `"]}`)},
		},
		IsDiff: true,
	}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	out := tool.run("query", db, selectBridge)
	if !strings.Contains(out, `"rows":[]`) {
		t.Errorf("bridge not deleted: %s", out)
	}
}
