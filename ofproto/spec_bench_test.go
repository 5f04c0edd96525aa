package ofproto

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gvswitch/gvswitch/ofproto/xlate"
)

// bulkTables is a replica as a monitor reply leaves it after a bulk add of
// n system ports to bridge "bulk" and their status write-back: every
// monitored column present, in the server's encoding.
func bulkTables(n int) Tables {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	t := Tables{"Open_vSwitch": {}, "Bridge": {}, "Port": {}, "Interface": {}}
	var ports []string
	for i := range n + 1 {
		name := fmt.Sprintf("b%d", i)
		if i == n {
			name = "bulk"
		}
		iu := fmt.Sprintf("00000000-0000-4000-8000-%012d", 2*i)
		pu := fmt.Sprintf("00000000-0000-4000-8000-%012d", 2*i+1)
		ports = append(ports, `["uuid","`+pu+`"]`)
		t["Interface"][iu] = Row{
			"name": raw(`"` + name + `"`), "type": raw(`""`), "options": raw(`["map",[]]`),
			"ofport_request": raw(`["set",[]]`), "ofport": raw(fmt.Sprint(i + 1)), "error": raw(`["set",[]]`),
			"mac_in_use": raw(`"02:00:00:00:00:01"`), "ifindex": raw(`100`),
			"admin_state": raw(`"up"`), "link_state": raw(`"up"`), "mtu": raw(`1500`), "mtu_request": raw(`["set",[]]`),
			"ingress_policing_rate": raw(`0`), "ingress_policing_burst": raw(`0`),
			"ingress_policing_kpkts_rate": raw(`0`), "ingress_policing_kpkts_burst": raw(`0`),
		}
		t["Port"][pu] = Row{
			"name": raw(`"` + name + `"`), "interfaces": raw(`["uuid","` + iu + `"]`), "tag": raw(`["set",[]]`),
			"trunks": raw(`["set",[]]`), "vlan_mode": raw(`["set",[]]`), "other_config": raw(`["map",[]]`),
			"cvlans": raw(`["set",[]]`), "qos": raw(`["set",[]]`), "status": raw(`["map",[]]`),
		}
	}
	bu := "00000000-0000-4000-9000-000000000000"
	t["Bridge"][bu] = Row{
		"name": raw(`"bulk"`), "ports": raw(`["set",[` + joinComma(ports) + `]]`), "datapath_type": raw(`""`),
		"other_config": raw(`["map",[]]`), "flood_vlans": raw(`["set",[]]`),
		"datapath_id": raw(`"0000020000000001"`), "fail_mode": raw(`["set",[]]`),
	}
	t["Open_vSwitch"]["00000000-0000-4000-a000-000000000000"] = Row{
		"bridges": raw(`["uuid","` + bu + `"]`), "next_cfg": raw(`7`), "cur_cfg": raw(`7`),
		"other_config": raw(`["map",[["stats-update-interval","5000"]]]`),
		"ovs_version":  raw(`"3.1.0"`), "db_version": raw(`"8.3.1"`),
		"datapath_types": raw(`["set",["netdev","system"]]`),
		"iface_types":    raw(`["set",["internal","patch","system","tap"]]`),
		"system_type":    raw(`"debian"`), "system_version": raw(`"12"`),
	}
	return t
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// BenchmarkBuildSpec1000 decodes a 1000-port replica without the row cache
// (every row new, as after a bulk add).
func BenchmarkBuildSpec1000(b *testing.B) {
	t := bulkTables(1000)
	for b.Loop() {
		s := buildSpec(t, nil)
		if len(s.Bridges["bulk"].Ports) != 1001 {
			b.Fatal("bad spec")
		}
	}
}

// BenchmarkBuildSpec1000Cached is the same with every row cached (a pass
// after a change elsewhere).
func BenchmarkBuildSpec1000Cached(b *testing.B) {
	t := bulkTables(1000)
	c := newSpecCache()
	buildSpec(t, c)
	for b.Loop() {
		buildSpec(t, c)
	}
}

// bulkUpdate encodes the monitor update that inserts bulkTables(n)'s rows.
func bulkUpdate(b *testing.B, n int) []byte {
	upd := map[string]map[string]map[string]Row{}
	for table, rows := range bulkTables(n) {
		upd[table] = map[string]map[string]Row{}
		for u, r := range rows {
			upd[table][u] = map[string]Row{"new": r}
		}
	}
	raw, err := json.Marshal(upd)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkApplyUpdates1000 merges the monitor update of a 1000-port bulk
// add (1000 Port and Interface inserts, the bridge's ports column) into an
// empty replica.
func BenchmarkApplyUpdates1000(b *testing.B) {
	raw := bulkUpdate(b, 1000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := applyUpdates(make(Tables), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyUpdates1000JSON decodes the same update with encoding/json
// alone (the fallback path), for comparison.
func BenchmarkApplyUpdates1000JSON(b *testing.B) {
	raw := bulkUpdate(b, 1000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var u map[string]map[string]rowUpdate
		if err := json.Unmarshal(raw, &u); err != nil {
			b.Fatal(err)
		}
	}
}

// staticDB is a DB whose replica never changes and whose transactions
// succeed without effect.
type staticDB struct{ t Tables }

func (d staticDB) Snapshot() Tables {
	out := make(Tables, len(d.t))
	for name, rows := range d.t {
		m := make(map[string]Row, len(rows))
		for u, r := range rows {
			m[u] = r
		}
		out[name] = m
	}
	return out
}
func (staticDB) Changed() <-chan struct{} { return nil }
func (staticDB) Transact(ops ...any) ([]json.RawMessage, error) {
	return make([]json.RawMessage, len(ops)), nil
}
func (staticDB) Resync()       {}
func (staticDB) HasLock() bool { return true }
func (staticDB) Close() error  { return nil }

// BenchmarkReconfigureNoop1000 is one reconfigure pass over a 1000-port
// bridge when nothing changed (as after a link event, or a change to
// another bridge): the per-pass overhead that every add-port pays once
// the bridge is that large.
func BenchmarkReconfigureNoop1000(b *testing.B) {
	t := bulkTables(1000)
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("b%d", i))
	}
	dp := newFakeDP(names...)
	v := New(Options{DB: staticDB{t}, Datapath: dp, Opener: dp, Links: &fakeLinks{}, Xlate: xlate.New(), Version: "3.1.0"})
	v.reconfigure()
	if len(v.rec.ifaces) != 1001 {
		b.Fatalf("%d interfaces attached", len(v.rec.ifaces))
	}
	for b.Loop() {
		v.reconfigure()
	}
}
