package ofproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
)

// DB is the narrow OVSDB client the vswitchd layer needs: one monitored
// replica of a few tables, the ovs_vswitchd lock, and transactions. It is
// deliberately small so that a libovsdb client (or any other) could sit
// behind it; dbConn is the built-in implementation over package jsonrpc.
type DB interface {
	// Snapshot returns the current replica: table -> uuid -> row. The maps
	// are owned by the caller (a fresh copy per call).
	Snapshot() Tables
	// Changed is signalled (non-blocking, coalesced) after every update
	// that changes configuration, i.e. more than the columns ofproto
	// writes itself.
	Changed() <-chan struct{}
	// Transact runs ops (JSON operation objects) and returns the per-op
	// results. An op error or a short reply is an error.
	Transact(ops ...any) ([]json.RawMessage, error)
	// Resync drops the session and starts a new one (full monitor
	// snapshot), for a replica found stale.
	Resync()
	// HasLock reports whether this session may write: it holds the
	// ovs_vswitchd lock (or the server does not implement locks).
	HasLock() bool
	// Close ends the session.
	Close() error
}

// Row is one monitored row: column -> OVSDB datum as JSON.
type Row map[string]json.RawMessage

// Tables is a replica: table -> row uuid -> row.
type Tables map[string]map[string]Row

// monitoredColumns are the columns the vswitchd layer reads. Status columns
// that only we write (statistics, link_state...) are left out so that our
// own status updates do not wake the reconciler.
var monitoredColumns = map[string][]string{
	"Open_vSwitch": {"bridges", "next_cfg", "cur_cfg", "other_config", "ovs_version", "db_version",
		"datapath_types", "iface_types", "system_type", "system_version"},
	"Bridge": {"name", "ports", "datapath_type", "other_config", "flood_vlans", "datapath_id", "fail_mode"},
	"Port":   {"name", "interfaces", "tag", "trunks", "vlan_mode", "other_config", "cvlans", "qos", "status"},
	"Interface": {"name", "type", "options", "ofport_request", "ofport", "error", "mac_in_use",
		"ifindex", "admin_state", "link_state", "mtu", "mtu_request",
		"ingress_policing_rate", "ingress_policing_burst", "ingress_policing_kpkts_rate", "ingress_policing_kpkts_burst"},
}

// callTimeout bounds one request; a 1000-port transaction takes well under
// a second even on a loaded server.
const callTimeout = 15 * time.Second

// LockName is the lock every vswitchd holds while it writes the database.
const LockName = "ovs_vswitchd"

// dbConn is a reconnecting OVSDB client over jsonrpc.
type dbConn struct {
	addr    string
	changed chan struct{}
	log     logger

	mu      sync.Mutex
	conn    *jsonrpc.Conn
	nextID  int
	pending map[string]pendingCall
	tables  Tables
	locked  bool
	lockOK  bool // the server answered the lock request
	closed  bool
	// reconnecting is set while one goroutine (DialDB or reconnect) owns
	// session setup, so that a session dying during setup never starts a
	// second reconnect loop.
	reconnecting bool
}

// pendingCall is a request waiting for its reply. onReply, when set, runs
// in the reader with d.mu held, before the reader reads the next message:
// the monitor reply must become the replica before any update that follows
// it is applied, or that update would be lost.
type pendingCall struct {
	ch      chan *jsonrpc.Message
	onReply func(*jsonrpc.Message)
}

// logger is the part of slog ofproto uses (nil-safe through logf helpers).
type logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// DialDB connects to the OVSDB server at addr ("unix:PATH" or "tcp:H:P"),
// takes the ovs_vswitchd lock and monitors the vswitchd tables. It waits up
// to timeout for the first session and reconnects in the background after
// that.
func DialDB(addr string, timeout time.Duration, log logger) (DB, error) {
	d := &dbConn{
		addr:    addr,
		changed: make(chan struct{}, 1),
		log:     log,
		pending: make(map[string]pendingCall),
		tables:  make(Tables),
		// DialDB owns session setup until it returns.
		reconnecting: true,
	}
	deadline := time.Now().Add(timeout)
	for {
		err := d.connect()
		if err == nil && d.setupDone() {
			return d, nil
		}
		if err == nil {
			err = errors.New("connection closed during setup")
		}
		if time.Now().After(deadline) {
			_ = d.Close()
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *dbConn) Changed() <-chan struct{} { return d.changed }

func (d *dbConn) signal() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// connect opens one session: monitor, lock, then start the reader.
func (d *dbConn) connect() error {
	c, err := jsonrpc.Dial(d.addr, 2*time.Second)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.conn = c
	d.locked, d.lockOK = false, false
	d.mu.Unlock()
	go d.readLoop(c)

	req := map[string]any{}
	for t, cols := range monitoredColumns {
		req[t] = map[string]any{"columns": cols}
	}
	var replyErr error
	_, err = d.callHook(c, "monitor", []any{"Open_vSwitch", nil, req}, func(m *jsonrpc.Message) {
		if m.Kind != jsonrpc.KindReply {
			return
		}
		tables := make(Tables)
		if _, replyErr = applyUpdates(tables, m.Result); replyErr == nil {
			d.tables = tables
		}
	})
	if err != nil {
		d.abandon(c)
		return fmt.Errorf("monitor: %w", err)
	}
	if replyErr != nil {
		d.abandon(c)
		return fmt.Errorf("monitor reply: %w", replyErr)
	}

	lres, err := d.call(c, "lock", []any{LockName})
	if err != nil {
		// A server without locks (or an old one) is still usable.
		d.logWarn("lock request failed", "error", err)
	} else {
		var lr struct {
			Locked bool `json:"locked"`
		}
		_ = json.Unmarshal(lres, &lr)
		d.mu.Lock()
		d.lockOK = true
		if lr.Locked {
			d.locked = true
		}
		d.mu.Unlock()
		if !lr.Locked {
			d.logWarn("another process holds the ovs_vswitchd lock; waiting")
		}
	}
	d.signal()
	return nil
}

// abandon closes a session that failed while being set up, without letting
// its reader start another reconnect loop.
func (d *dbConn) abandon(c *jsonrpc.Conn) {
	d.mu.Lock()
	if d.conn == c {
		d.conn = nil
	}
	d.mu.Unlock()
	_ = c.Close()
}

func (d *dbConn) logWarn(msg string, args ...any) {
	if d.log != nil {
		d.log.Warn(msg, args...)
	}
}

// call sends a request on c and waits for its reply.
func (d *dbConn) call(c *jsonrpc.Conn, method string, params any) (json.RawMessage, error) {
	return d.callHook(c, method, params, nil)
}

// callHook is call with a hook the reader runs on the reply (see
// pendingCall); the hook's effects are visible when callHook returns.
func (d *dbConn) callHook(c *jsonrpc.Conn, method string, params any, onReply func(*jsonrpc.Message)) (json.RawMessage, error) {
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	ch := make(chan *jsonrpc.Message, 1)
	key := strconv.Itoa(id)
	d.pending[key] = pendingCall{ch: ch, onReply: onReply}
	d.mu.Unlock()
	if err := c.Write(jsonrpc.NewRequest(method, params, id)); err != nil {
		d.mu.Lock()
		delete(d.pending, key)
		d.mu.Unlock()
		return nil, err
	}
	var m *jsonrpc.Message
	ok := false
	select {
	case m, ok = <-ch:
	case <-time.After(callTimeout):
		// A server that stops answering must not stall the vswitchd
		// forever: drop the session, which reconnects.
		d.mu.Lock()
		delete(d.pending, key)
		d.mu.Unlock()
		d.logWarn("database request timed out; reconnecting", "method", method)
		_ = c.Close()
		return nil, fmt.Errorf("%s: no reply within %v", method, callTimeout)
	}
	if !ok || m == nil {
		return nil, errors.New("connection closed")
	}
	if m.Kind == jsonrpc.KindError {
		return nil, fmt.Errorf("server error: %s", m.Error)
	}
	return m.Result, nil
}

func (d *dbConn) readLoop(c *jsonrpc.Conn) {
	for {
		m, err := c.Read()
		if err != nil {
			break
		}
		switch m.Kind {
		case jsonrpc.KindReply, jsonrpc.KindError:
			d.mu.Lock()
			pc, ok := d.pending[string(m.ID)]
			delete(d.pending, string(m.ID))
			if ok && pc.onReply != nil && d.conn == c {
				pc.onReply(m)
			}
			d.mu.Unlock()
			if ok {
				pc.ch <- m
			}
		case jsonrpc.KindRequest:
			if m.Method == "echo" {
				_ = c.Write(jsonrpc.NewReply(m.ID, m.Params))
			}
		case jsonrpc.KindNotify:
			d.notify(c, m)
		}
	}
	_ = c.Close()
	d.mu.Lock()
	for k, pc := range d.pending {
		close(pc.ch)
		delete(d.pending, k)
	}
	current := d.conn == c
	closed := d.closed
	if current {
		d.conn = nil
		d.locked = false
	}
	start := current && !closed && !d.reconnecting
	if start {
		d.reconnecting = true
	}
	d.mu.Unlock()
	if start {
		go d.reconnect()
	}
}

// setupDone ends session setup if the new session is still up; otherwise
// the caller keeps trying.
func (d *dbConn) setupDone() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return false
	}
	d.reconnecting = false
	return true
}

// notify handles a notification read from c; those from a connection that
// is no longer current are dropped (its replica was replaced).
func (d *dbConn) notify(c *jsonrpc.Conn, m *jsonrpc.Message) {
	var params []json.RawMessage
	if err := json.Unmarshal(m.Params, &params); err != nil {
		d.logWarn("bad notification params", "method", m.Method, "error", err)
		return
	}
	switch m.Method {
	case "update":
		if len(params) != 2 {
			d.logWarn("update notification with bad params", "count", len(params))
			return
		}
		d.mu.Lock()
		if d.conn != c {
			d.mu.Unlock()
			return
		}
		config, err := applyUpdates(d.tables, params[1])
		d.mu.Unlock()
		if err != nil {
			d.logWarn("bad monitor update", "error", err)
			return
		}
		if config {
			d.signal()
		} else if d.log != nil {
			d.log.Debug("monitor update with output columns only")
		}
	case "locked":
		d.mu.Lock()
		current := d.conn == c
		if current {
			d.locked = true
		}
		d.mu.Unlock()
		if current {
			d.signal()
		}
	case "stolen":
		d.mu.Lock()
		if d.conn == c {
			d.locked = false
		}
		d.mu.Unlock()
	}
}

func (d *dbConn) reconnect() {
	backoff := 100 * time.Millisecond
	for {
		d.mu.Lock()
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return
		}
		if err := d.connect(); err == nil && d.setupDone() {
			if d.log != nil {
				d.log.Info("reconnected to database", "remote", d.addr)
			}
			return
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 8*time.Second)
	}
}

// outputColumns are the columns the vswitchd layer itself writes. An update
// that changes only these (the echo of our own transactions) needs no
// reconcile pass.
var outputColumns = map[string]map[string]bool{
	"Open_vSwitch": {"cur_cfg": true, "ovs_version": true, "db_version": true, "datapath_types": true,
		"iface_types": true, "system_type": true, "system_version": true},
	"Bridge": {"datapath_id": true},
	"Port":   {"status": true},
	"Interface": {"ofport": true, "error": true, "mac_in_use": true, "ifindex": true, "admin_state": true,
		"link_state": true, "mtu": true},
}

// rowUpdate is one <row-update> of a monitor v1 update.
type rowUpdate struct {
	Old Row `json:"old"`
	New Row `json:"new"`
}

// applyUpdates merges a monitor v1 <table-updates> object into tables. It
// reports whether anything besides output columns changed. The rows keep
// slices of raw, which must not be modified afterwards.
func applyUpdates(tables Tables, raw json.RawMessage) (bool, error) {
	upd, ok := splitUpdates(raw)
	if !ok {
		if err := json.Unmarshal(raw, &upd); err != nil {
			return false, err
		}
	}
	config := false
	for table, rows := range upd {
		t := tables[table]
		if t == nil {
			t = make(map[string]Row)
			tables[table] = t
		}
		for uuid, ru := range rows {
			switch {
			case ru.New == nil:
				delete(t, uuid)
				config = true
			case ru.Old == nil:
				t[uuid] = ru.New
				config = true
			default:
				// "new" holds every monitored column (RFC 7047 4.1.6);
				// merging onto the old row also copes with a server
				// that sends only the changed ones. A fresh map keeps
				// row identity meaningful for the decode cache.
				merged := make(Row, len(t[uuid])+len(ru.New))
				for k, v := range t[uuid] {
					merged[k] = v
				}
				for k, v := range ru.New {
					merged[k] = v
				}
				t[uuid] = merged
				for col := range ru.Old {
					if !outputColumns[table][col] {
						config = true
					}
				}
			}
		}
	}
	return config, nil
}

func (d *dbConn) Snapshot() Tables {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(Tables, len(d.tables))
	for t, rows := range d.tables {
		m := make(map[string]Row, len(rows))
		for u, r := range rows {
			m[u] = r // rows are replaced, never mutated, so sharing is safe
		}
		out[t] = m
	}
	return out
}

func (d *dbConn) Resync() {
	d.mu.Lock()
	c := d.conn
	d.mu.Unlock()
	if c != nil {
		_ = c.Close() // the reader notices and reconnects
	}
}

func (d *dbConn) HasLock() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.locked || !d.lockOK
}

// opError is one failed operation in a transaction reply.
type opError struct {
	Error   string `json:"error"`
	Details string `json:"details"`
}

func (d *dbConn) Transact(ops ...any) ([]json.RawMessage, error) {
	d.mu.Lock()
	c, locked := d.conn, d.locked
	d.mu.Unlock()
	if c == nil {
		return nil, errors.New("not connected")
	}
	params := make([]any, 0, len(ops)+2)
	params = append(params, "Open_vSwitch")
	if locked {
		params = append(params, map[string]any{"op": "assert", "lock": LockName})
	}
	params = append(params, ops...)
	res, err := d.call(c, "transact", params)
	if err != nil {
		return nil, err
	}
	var results []json.RawMessage
	if err := json.Unmarshal(res, &results); err != nil {
		return nil, fmt.Errorf("transact reply: %w", err)
	}
	for i, r := range results {
		var oe opError
		if json.Unmarshal(r, &oe) == nil && oe.Error != "" {
			return nil, fmt.Errorf("transaction op %d: %s: %s", i, oe.Error, oe.Details)
		}
	}
	if len(results) < len(params)-1 {
		return nil, fmt.Errorf("transact reply has %d results for %d ops", len(results), len(params)-1)
	}
	if locked {
		results = results[1:]
	}
	return results, nil
}

func (d *dbConn) Close() error {
	d.mu.Lock()
	d.closed = true
	c := d.conn
	d.conn = nil
	d.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}
