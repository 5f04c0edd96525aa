package ovstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// OFPPLocal is the ofport of a bridge's own internal interface (OFPP_LOCAL).
const OFPPLocal = 65534

// Bumper stands in for ovs-vswitchd towards the database: it keeps
// Open_vSwitch.cur_cfg equal to next_cfg and gives every Interface without
// an ofport one: its ofport_request, OFPPLocal for a bridge's internal
// interface of the same name, otherwise the next unused number counting up
// from 1 (like ovs-vswitchd, it does not hand a freed number out again
// straight away). An interface keeps its number while it exists. With
// it, ovs-vsctl commands without --no-wait return and report no interface
// errors. It is a plain OVSDB client: one monitor, one transaction per
// change, over its own connection.
type Bumper struct {
	conn net.Conn
	done chan struct{}

	mu    sync.Mutex
	err   error // first protocol or transaction error
	bumps int   // transactions sent
}

// CurCfgBumper connects to sock ("unix:PATH") and starts bumping. It stops
// in t.Cleanup, failing the test if a transaction failed.
func CurCfgBumper(t testing.TB, sock string) *Bumper {
	t.Helper()
	path, ok := strings.CutPrefix(sock, "unix:")
	if !ok {
		t.Fatalf("CurCfgBumper: %q is not a unix: remote", sock)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("CurCfgBumper: %v", err)
	}
	b := &Bumper{conn: conn, done: make(chan struct{})}
	monitor := map[string]any{
		"Open_vSwitch": map[string]any{"columns": []string{"next_cfg", "cur_cfg"}},
		"Bridge":       map[string]any{"columns": []string{"name"}},
		"Interface":    map[string]any{"columns": []string{"name", "type", "ofport", "ofport_request"}},
	}
	if err := json.NewEncoder(conn).Encode(map[string]any{
		"id": "monitor", "method": "monitor", "params": []any{"Open_vSwitch", "bumper", monitor},
	}); err != nil {
		conn.Close()
		t.Fatalf("CurCfgBumper: send monitor: %v", err)
	}
	go b.loop()
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("CurCfgBumper: %v", err)
		}
	})
	return b
}

// Stop closes the connection, waits for the bumper to finish and returns
// the first error it met. Safe to call more than once.
func (b *Bumper) Stop() error {
	b.conn.Close()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		return errors.New("bumper did not stop within 5s")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Bumps returns how many transactions the bumper has sent.
func (b *Bumper) Bumps() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bumps
}

func (b *Bumper) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

// rpcMsg is any JSON-RPC 1.0 message.
type rpcMsg struct {
	ID     json.RawMessage   `json:"id,omitempty"`
	Method string            `json:"method,omitempty"`
	Params []json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage   `json:"result,omitempty"`
	Error  json.RawMessage   `json:"error,omitempty"`
}

// rowUpdate is one row in a monitor (v1) table-updates object.
type rowUpdate struct {
	New map[string]json.RawMessage `json:"new"`
}

type bumperState struct {
	ovs      map[string]map[string]json.RawMessage // uuid -> row
	bridges  map[string]string                     // uuid -> name
	ifaces   map[string]map[string]json.RawMessage
	assigned map[string]int64 // iface uuid -> ofport we gave it
	nextPort int64
	txnID    int
}

func (b *Bumper) loop() {
	defer close(b.done)
	dec := json.NewDecoder(b.conn)
	enc := json.NewEncoder(b.conn)
	st := &bumperState{
		ovs:      map[string]map[string]json.RawMessage{},
		bridges:  map[string]string{},
		ifaces:   map[string]map[string]json.RawMessage{},
		assigned: map[string]int64{},
		nextPort: 1,
	}
	for {
		var m rpcMsg
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				b.fail(fmt.Errorf("read: %w", err))
			}
			return
		}
		var updates json.RawMessage
		switch {
		case m.Method == "echo":
			_ = enc.Encode(map[string]any{"id": m.ID, "result": m.Params, "error": nil})
			continue
		case m.Method == "update" && len(m.Params) == 2:
			updates = m.Params[1]
		case m.Method == "" && len(m.Error) > 0 && string(m.Error) != "null":
			b.fail(fmt.Errorf("reply %s: error %s", m.ID, m.Error))
			continue
		case m.Method == "" && string(m.ID) == `"monitor"`:
			updates = m.Result
		case m.Method == "" && len(m.Result) > 0:
			checkTxnResult(b, m)
			continue
		default:
			continue
		}
		if err := st.apply(updates); err != nil {
			b.fail(err)
			continue
		}
		if ops := st.ops(); len(ops) > 0 {
			st.txnID++
			params := append([]any{"Open_vSwitch"}, ops...)
			if err := enc.Encode(map[string]any{"id": st.txnID, "method": "transact", "params": params}); err != nil {
				if !errors.Is(err, net.ErrClosed) {
					b.fail(fmt.Errorf("send transact: %w", err))
				}
				return
			}
			b.mu.Lock()
			b.bumps++
			b.mu.Unlock()
		}
	}
}

// checkTxnResult records an operation error inside a transact reply.
func checkTxnResult(b *Bumper, m rpcMsg) {
	var results []map[string]json.RawMessage
	if json.Unmarshal(m.Result, &results) != nil {
		return
	}
	for _, r := range results {
		if e, ok := r["error"]; ok {
			b.fail(fmt.Errorf("transact %s: %s %s", m.ID, e, r["details"]))
		}
	}
}

func (st *bumperState) apply(raw json.RawMessage) error {
	var tables map[string]map[string]rowUpdate
	if err := json.Unmarshal(raw, &tables); err != nil {
		return fmt.Errorf("decode update: %w", err)
	}
	for table, rows := range tables {
		for uuid, ru := range rows {
			switch table {
			case "Open_vSwitch":
				setRow(st.ovs, uuid, ru.New)
			case "Interface":
				setRow(st.ifaces, uuid, ru.New)
				if ru.New == nil {
					delete(st.assigned, uuid)
				}
			case "Bridge":
				if ru.New == nil {
					delete(st.bridges, uuid)
				} else if n, ok := ru.New["name"]; ok {
					var name string
					_ = json.Unmarshal(n, &name)
					st.bridges[uuid] = name
				}
			}
		}
	}
	return nil
}

// setRow merges a monitor v1 "new" row (all monitored columns) or deletes.
func setRow(m map[string]map[string]json.RawMessage, uuid string, row map[string]json.RawMessage) {
	if row == nil {
		delete(m, uuid)
		return
	}
	m[uuid] = row
}

// ops returns the operations that bring the database up to date.
func (st *bumperState) ops() []any {
	var ops []any
	used := map[int64]bool{}
	for _, r := range st.ifaces {
		if p, ok := optInt(r["ofport"]); ok {
			used[p] = true
		}
	}
	bridgeNames := map[string]bool{}
	for _, n := range st.bridges {
		bridgeNames[n] = true
	}
	// Name order makes the numbers deterministic within one transaction
	// (add-port a -- add-port b gives a 1 and b 2), as tests expect.
	uuids := make([]string, 0, len(st.ifaces))
	for uuid := range st.ifaces {
		uuids = append(uuids, uuid)
	}
	nameOf := func(uuid string) string {
		var name string
		_ = json.Unmarshal(st.ifaces[uuid]["name"], &name)
		return name
	}
	sort.Slice(uuids, func(i, j int) bool { return nameOf(uuids[i]) < nameOf(uuids[j]) })
	for _, uuid := range uuids {
		r := st.ifaces[uuid]
		if _, ok := optInt(r["ofport"]); ok {
			continue
		}
		port, ok := st.assigned[uuid]
		if !ok {
			var name, typ string
			_ = json.Unmarshal(r["name"], &name)
			_ = json.Unmarshal(r["type"], &typ)
			if req, ok := optInt(r["ofport_request"]); ok {
				port = req
			} else if typ == "internal" && bridgeNames[name] {
				port = OFPPLocal
			} else {
				for used[st.nextPort] {
					st.nextPort++
				}
				port = st.nextPort
				st.nextPort++ // never hand out a freed number again
			}
			used[port] = true
			st.assigned[uuid] = port
		}
		ops = append(ops, map[string]any{
			"op": "update", "table": "Interface",
			"where": []any{[]any{"_uuid", "==", []any{"uuid", uuid}}},
			"row":   map[string]any{"ofport": port},
		})
	}
	for uuid, r := range st.ovs {
		next, _ := optInt(r["next_cfg"])
		cur, _ := optInt(r["cur_cfg"])
		if next != cur {
			ops = append(ops, map[string]any{
				"op": "update", "table": "Open_vSwitch",
				"where": []any{[]any{"_uuid", "==", []any{"uuid", uuid}}},
				"row":   map[string]any{"cur_cfg": next},
			})
		}
	}
	return ops
}

// optInt decodes an integer datum that may be an empty or one-element set.
func optInt(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var set []json.RawMessage
	if json.Unmarshal(raw, &set) != nil || len(set) != 2 {
		return 0, false
	}
	var elems []int64
	if json.Unmarshal(set[1], &elems) != nil || len(elems) != 1 {
		return 0, false
	}
	return elems[0], true
}
