package ofproto

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
)

// spec builds a Spec with one bridge per key; each interface is "name",
// optionally with type, ofport_request and current DB ofport.
type ifDef struct {
	name, typ     string
	req, dbOFPort int64
	peer          string
}

func makeSpec(bridges map[string][]ifDef) *Spec {
	s := &Spec{RootUUID: "root", Bridges: map[string]*BridgeSpec{}}
	for br, ifs := range bridges {
		b := &BridgeSpec{Name: br, UUID: "u-" + br, Ports: map[string]*PortSpec{}}
		for _, d := range append([]ifDef{{name: br}}, ifs...) {
			i := &IfaceSpec{UUID: "u-" + d.name, Name: d.name, Type: d.typ, OFPortRequest: d.req, OFPort: d.dbOFPort,
				Bridge: br, Port: d.name}
			if d.peer != "" {
				i.Options = map[string]string{"peer": d.peer}
			}
			b.Ports[d.name] = &PortSpec{Name: d.name, Interfaces: []*IfaceSpec{i}}
		}
		s.Bridges[br] = b
	}
	return s
}

func resultMap(rs []ifaceResult) map[string]ifaceResult {
	m := map[string]ifaceResult{}
	for _, r := range rs {
		m[r.spec.Name] = r
	}
	return m
}

func TestReconcileAllocation(t *testing.T) {
	tests := []struct {
		name    string
		bridges map[string][]ifDef
		want    map[string]int64
		wantErr map[string]bool
	}{
		{"local port and lowest free", map[string][]ifDef{"br0": {{name: "a"}, {name: "b"}}},
			map[string]int64{"br0": 65534, "a": 1, "b": 2}, nil},
		{"db ofport kept across restart", map[string][]ifDef{"br0": {{name: "a"}, {name: "b", dbOFPort: 1}}},
			map[string]int64{"a": 2, "b": 1}, nil},
		{"request honoured first", map[string][]ifDef{"br0": {{name: "a"}, {name: "b", req: 1}}},
			map[string]int64{"a": 2, "b": 1}, nil},
		{"duplicate request fails the newcomer", map[string][]ifDef{"br0": {{name: "a", req: 3}, {name: "b", req: 3, dbOFPort: 3}}},
			map[string]int64{"a": -1, "b": 3}, map[string]bool{"a": true}},
		{"unsupported type", map[string][]ifDef{"br0": {{name: "g", typ: "geneve"}}},
			map[string]int64{"g": -1}, map[string]bool{"g": true}},
		{"missing device", map[string][]ifDef{"br0": {{name: "nodev"}}},
			map[string]int64{"nodev": -1}, map[string]bool{"nodev": true}},
		{"patch needs peer", map[string][]ifDef{"br0": {{name: "p0", typ: "patch"}, {name: "p1", typ: "patch", peer: "p2"}}},
			map[string]int64{"p0": -1, "p1": 1}, map[string]bool{"p0": true}},
		{"ofports are per bridge", map[string][]ifDef{"br0": {{name: "a"}}, "br1": {{name: "b"}}},
			map[string]int64{"a": 1, "b": 1, "br1": 65534}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := newFakeDP("a", "b", "g", "p0", "p1")
			r := newReconciler(dp, dp, nil, nil)
			got := resultMap(r.Reconcile(makeSpec(tt.bridges)))
			for name, want := range tt.want {
				if got[name].ofport != want {
					t.Errorf("%s: ofport %d, want %d (error %q)", name, got[name].ofport, want, got[name].err)
				}
				if (got[name].err != "") != tt.wantErr[name] {
					t.Errorf("%s: error %q", name, got[name].err)
				}
			}
		})
	}
}

func TestReconcileDeleteBeforeAdd(t *testing.T) {
	dp := newFakeDP("a")
	r := newReconciler(dp, dp, nil, nil)
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}}, "br1": nil}))
	// Move a to br1: it is detached from br0 and attached to br1.
	got := resultMap(r.Reconcile(makeSpec(map[string][]ifDef{"br0": nil, "br1": {{name: "a"}}})))
	if got["a"].ofport != 1 || r.ifaces["a"].bridge != "br1" {
		t.Fatalf("moved port: %+v", got["a"])
	}
	if _, ok := r.bridges["br0"].ofports[1]; ok {
		t.Fatal("br0 still holds ofport 1")
	}
	if n := len(dp.ports); n != 3 {
		t.Fatalf("datapath has %d ports, want 3", n)
	}
	// Remove everything.
	r.Reconcile(&Spec{RootUUID: "root", Bridges: map[string]*BridgeSpec{}})
	if len(dp.ports) != 0 || len(r.ifaces) != 0 {
		t.Fatalf("left over: dp %v live %v", dp.ports, r.ifaces)
	}
}

func TestBuildSpecSkipsDanglingRows(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tables := Tables{
		"Open_vSwitch": {"r": {"bridges": raw(`["set",[["uuid","b1"],["uuid","gone"]]]`), "next_cfg": raw(`3`), "cur_cfg": raw(`2`)}},
		"Bridge":       {"b1": {"name": raw(`"br0"`), "ports": raw(`["uuid","p1"]`)}},
		"Port":         {"p1": {"name": raw(`"br0"`), "interfaces": raw(`["set",[["uuid","i1"],["uuid","nope"]]]`), "tag": raw(`["set",[]]`), "trunks": raw(`["set",[20,10]]`)}},
		"Interface":    {"i1": {"name": raw(`"br0"`), "type": raw(`"internal"`), "ofport": raw(`65534`), "options": raw(`["map",[["k","v"]]]`)}},
	}
	s := BuildSpec(tables)
	if s.NextCfg != 3 || s.CurCfg != 2 || len(s.Bridges) != 1 {
		t.Fatalf("spec %+v", s)
	}
	p := s.Bridges["br0"].Ports["br0"]
	if len(p.Interfaces) != 1 || p.Interfaces[0].OFPort != 65534 || p.Interfaces[0].Options["k"] != "v" || !p.Interfaces[0].Local() {
		t.Fatalf("port %+v iface %+v", p, p.Interfaces[0])
	}
	if p.Tag != 0 || len(p.Trunks) != 2 || p.Trunks[0] != 10 {
		t.Fatalf("vlan columns %+v", p)
	}
}

func TestSpecCacheFollowsRowReplacement(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tables := Tables{
		"Open_vSwitch": {"r": {"bridges": raw(`["uuid","b1"]`)}},
		"Bridge":       {"b1": {"name": raw(`"br0"`), "ports": raw(`["uuid","p1"]`)}},
		"Port":         {"p1": {"name": raw(`"eth1"`), "interfaces": raw(`["uuid","i1"]`), "tag": raw(`10`)}},
		"Interface":    {"i1": {"name": raw(`"eth1"`), "ofport_request": raw(`3`)}},
	}
	c := newSpecCache()
	first := buildSpec(tables, c)
	again := buildSpec(tables, c)
	if p := again.Bridges["br0"].Ports["eth1"]; p.Tag != 10 || p.Interfaces[0].OFPortRequest != 3 || p.Interfaces[0].Bridge != "br0" {
		t.Fatalf("cached spec %+v / %+v", p, p.Interfaces[0])
	}
	if first.Bridges["br0"].Ports["eth1"] == again.Bridges["br0"].Ports["eth1"] {
		t.Fatal("cache hands out shared PortSpec values")
	}
	// An update replaces the row: the cache must not serve the old value.
	tables["Interface"]["i1"] = Row{"name": raw(`"eth1"`), "ofport_request": raw(`4`)}
	tables["Port"]["p1"] = Row{"name": raw(`"eth1"`), "interfaces": raw(`["uuid","i1"]`), "tag": raw(`20`)}
	p := buildSpec(tables, c).Bridges["br0"].Ports["eth1"]
	if p.Tag != 20 || p.Interfaces[0].OFPortRequest != 4 {
		t.Fatalf("stale cache: %+v / %+v", p, p.Interfaces[0])
	}
	delete(tables["Interface"], "i1")
	buildSpec(tables, c)
	if _, ok := c.ifaces["i1"]; ok {
		t.Fatal("cache keeps a deleted row")
	}
}

func TestReconcileReusesLowestFreeNumbers(t *testing.T) {
	dp := newFakeDP("a", "b", "c", "d", "e")
	r := newReconciler(dp, dp, nil, nil)
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "b"}, {name: "c"}}}))
	// b leaves; the next new port takes its ofport (and datapath number),
	// the one after that continues above c.
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "c"}}}))
	got := resultMap(r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "c"}, {name: "d"}}})))
	if got["d"].ofport != 2 {
		t.Fatalf("d: ofport %d, want 2", got["d"].ofport)
	}
	got = resultMap(r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "c"}, {name: "d"}, {name: "e"}}})))
	if got["e"].ofport != 4 {
		t.Fatalf("e: ofport %d, want 4", got["e"].ofport)
	}
	// Datapath numbers go in name order: a 1, b 2, br0 3, c 4; d reused 2
	// and e took 5.
	want := map[string]uint32{"a": 1, "br0": 3, "c": 4, "d": 2, "e": 5}
	for name, no := range want {
		if r.ifaces[name].dpNo != no {
			t.Errorf("%s: datapath port %d, want %d", name, r.ifaces[name].dpNo, no)
		}
	}
}

// BenchmarkReconcileBulk1000 attaches 1000 ports to a fresh bridge in one
// pass and detaches them again (in memory: the opener and datapath are
// fakes), i.e. ofproto's own share of a 1000-port bulk add and del-br.
func BenchmarkReconcileBulk1000(b *testing.B) {
	var defs []ifDef
	var names []string
	for i := range 1000 {
		name := fmt.Sprintf("p%d", i)
		defs = append(defs, ifDef{name: name})
		names = append(names, name)
	}
	full := makeSpec(map[string][]ifDef{"bulk": defs})
	empty := makeSpec(map[string][]ifDef{})
	dp := newFakeDP(names...)
	for b.Loop() {
		r := newReconciler(dp, dp, nil, nil)
		r.Reconcile(full)
		r.Reconcile(empty)
	}
}

// detachDP is a fakeDP that also implements PortDetacher: DetachPort takes
// the port out at once, and its finish waits for gate, then logs "closed".
type detachDP struct {
	*fakeDP
	gate chan struct{}
	mu   sync.Mutex
	log  []string
	dels []string // DelPort calls (synchronous closes)
}

func (d *detachDP) note(s string) {
	d.mu.Lock()
	d.log = append(d.log, s)
	d.mu.Unlock()
}

func (d *detachDP) DetachPort(no uint32) (func() error, error) {
	d.fakeDP.mu.Lock()
	name, ok := d.ports[no]
	delete(d.ports, no)
	d.fakeDP.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no port %d", no)
	}
	return func() error {
		<-d.gate
		d.note("closed " + name)
		return nil
	}, nil
}

func (d *detachDP) DelPort(no uint32) error {
	d.fakeDP.mu.Lock()
	d.dels = append(d.dels, d.ports[no])
	d.fakeDP.mu.Unlock()
	return d.fakeDP.DelPort(no)
}

func (d *detachDP) Open(name, typ string) (netdev.Port, error) {
	d.note("open " + name)
	return d.fakeDP.Open(name, typ)
}

func (d *detachDP) has(name string) bool {
	d.fakeDP.mu.Lock()
	defer d.fakeDP.mu.Unlock()
	for _, n := range d.ports {
		if n == name {
			return true
		}
	}
	return false
}

// TestReconcileBackgroundClose: a deleted system port leaves the datapath
// before Reconcile returns but is closed later; its datapath number is not
// reused until then; a re-add of the same name opens only after the close;
// internal ports are closed synchronously; closeAll waits for every close.
func TestReconcileBackgroundClose(t *testing.T) {
	dp := &detachDP{fakeDP: newFakeDP("a", "b", "c"), gate: make(chan struct{})}
	r := newReconciler(dp, dp, nil, nil)
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "b"}, {name: "i", typ: "internal"}}}))
	aNo := r.ifaces["a"].dpNo

	// Delete a and i: returns while a's close is held by the gate.
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "b"}}}))
	if dp.has("a") || dp.has("i") {
		t.Fatalf("a or i still in the datapath after Reconcile: %v", dp.ports)
	}
	if len(dp.dels) != 1 || dp.dels[0] != "i" {
		t.Errorf("synchronous closes %v, want [i] (internal ports only)", dp.dels)
	}
	// A new port must not take a's datapath number while a is closing.
	r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "b"}, {name: "c"}}}))
	if no := r.ifaces["c"].dpNo; no == aNo {
		t.Errorf("c got datapath number %d of the still-closing a", no)
	}

	// Re-adding a waits for its close.
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "b"}, {name: "c"}}}))
	}()
	select {
	case <-done:
		t.Fatal("re-adding a returned before its previous close finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(dp.gate)
	<-done
	dp.mu.Lock()
	log := fmt.Sprint(dp.log)
	dp.mu.Unlock()
	if want := "closed a open a"; !strings.Contains(log, want) {
		t.Errorf("events %s: want %q in that order", log, want)
	}
	if r := resultMap(r.Reconcile(makeSpec(map[string][]ifDef{"br0": {{name: "a"}, {name: "b"}, {name: "c"}}}))); r["a"].ofport <= 0 {
		t.Errorf("a not re-attached: %+v", r["a"])
	}

	// Shutdown waits for pending closes.
	r.closeAll()
	dp.mu.Lock()
	defer dp.mu.Unlock()
	n := 0
	for _, e := range dp.log {
		if strings.HasPrefix(e, "closed ") {
			n++
		}
	}
	if n != 4 { // a twice, b, c
		t.Errorf("closeAll returned with %d background closes done, want 4: %v", n, dp.log)
	}
}
