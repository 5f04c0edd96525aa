package server

import (
	"encoding/json"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb"
)

// sessionMonitor is one monitor registered by a session.
type sessionMonitor struct {
	sess *session
	db   *dbEntry
	id   json.RawMessage // the client's monitor id, echoed in notifications
	key  string
	m    *ovsdb.Monitor
}

var monitorMethods = [4]string{"", "update", "update2", "update3"}

// notification encodes a complete update notification for this monitor.
func (sm *sessionMonitor) notification(txnID ovsdb.UUID, body []byte) []byte {
	method := monitorMethods[sm.m.Version]
	b := make([]byte, 0, len(body)+len(sm.id)+96)
	b = append(b, `{"id":null,"method":"`...)
	b = append(b, method...)
	b = append(b, `","params":[`...)
	b = append(b, sm.id...)
	b = append(b, ',')
	if sm.m.Version == 3 {
		b = append(b, '"')
		b = append(b, txnID.String()...)
		b = append(b, `",`...)
	}
	b = append(b, body...)
	return append(b, "]}"...)
}

func (sm *sessionMonitor) notifyBody(txnID ovsdb.UUID, body []byte) {
	sm.sess.send(sm.notification(txnID, body))
}

// dispatch queues a commit's updates to every monitor of the database. It
// runs in the commit hook, with the database write lock held, so updates
// are queued in commit order and before the committing client's reply.
// It only queues: waitFanOut, run by the committing goroutine once the lock
// is released, writes to the sockets, and a client whose socket is still
// busy with earlier updates gets this one in the same write as those.
func (s *Server) dispatch(e *dbEntry, cm *ovsdb.Commit) {
	if len(e.monitors) == 0 {
		return
	}
	// Monitors with the same spec share one encoding of the update, and
	// those that also share a monitor id (every ovs-vsctl uses
	// ["monid","Open_vSwitch"]) share the whole notification. There are
	// usually only a few distinct specs and ids: they are found by
	// comparing strings, which is cheaper than hashing them (a spec names
	// every monitored column), and indexed by a map only when there are
	// many.
	var specBuf [4]encodedSpec
	specs := encCache[*encodedSpec]{keys: make([]string, 0, 4), vals: make([]*encodedSpec, 0, 4)}
	commits := []*ovsdb.Commit{cm}
	var flush []*session
	defer func() { s.fanOut(flush) }()
	for _, sm := range e.monitors {
		k := sm.m.Key()
		es, ok := specs.get(k)
		if !ok {
			if n := len(specs.keys); n < len(specBuf) {
				es = &specBuf[n]
			} else {
				es = new(encodedSpec)
			}
			es.body = sm.m.Update(commits)
			specs.put(k, es)
		}
		if es.body == nil {
			continue
		}
		msg, ok := es.msgs.get(sm.key)
		if !ok {
			msg = sm.notification(cm.TxnID, es.body)
			es.msgs.put(sm.key, msg)
		}
		if sm.sess.enqueue(msg) {
			flush = append(flush, sm.sess)
		}
	}
}

// encodedSpec is one monitor spec's update for a commit and its
// notifications by monitor id.
type encodedSpec struct {
	body []byte
	msgs encCache[[]byte]
}

// encCache maps strings to values: a linear search while it is small, a
// map once it is not.
type encCache[V any] struct {
	keys []string
	vals []V
	m    map[string]V
}

const encCacheLinear = 8

func (c *encCache[V]) get(k string) (V, bool) {
	if c.m != nil {
		v, ok := c.m[k]
		return v, ok
	}
	for i, ck := range c.keys {
		if ck == k {
			return c.vals[i], true
		}
	}
	var zero V
	return zero, false
}

func (c *encCache[V]) put(k string, v V) {
	if c.m == nil && len(c.keys) < encCacheLinear {
		c.keys = append(c.keys, k)
		c.vals = append(c.vals, v)
		return
	}
	if c.m == nil {
		c.m = make(map[string]V, 2*encCacheLinear)
		for i, ck := range c.keys {
			c.m[ck] = c.vals[i]
		}
	}
	c.m[k] = v
}

// fanOut puts sessions with queued updates on the fan-out list.
func (s *Server) fanOut(sessions []*session) {
	if len(sessions) == 0 {
		return
	}
	s.fanMu.Lock()
	s.fanList = append(s.fanList, sessions...)
	s.fanMu.Unlock()
}

// waitFanOut writes the updates queued so far to the monitoring clients'
// sockets (non-blocking writes; what a socket does not take goes to that
// session's writer goroutine) and returns once every one has been handed
// over, including those another committing goroutine took from the list.
// Whoever runs a transaction that may commit calls it after Transact
// returns (no database lock held) and before replying, so that a client
// sees the updates caused by its own transaction before the reply and, when
// it has the reply, every other monitor has them too, as with ovsdb-server.
func (s *Server) waitFanOut() {
	s.fanMu.Lock()
	for {
		n := len(s.fanList)
		if n == 0 {
			break
		}
		sess := s.fanList[n-1]
		s.fanList[n-1] = nil
		s.fanList = s.fanList[:n-1]
		s.fanBusy++
		s.fanMu.Unlock()
		sess.flush()
		s.fanMu.Lock()
		if s.fanBusy--; s.fanBusy == 0 {
			s.fanIdle.Broadcast()
		}
	}
	for s.fanBusy > 0 {
		s.fanIdle.Wait()
	}
	s.fanMu.Unlock()
}

// handleMonitor registers a monitor and replies with its initial contents
// (or, for monitor_cond_since, the history since the client's txn id). The
// registration, the initial contents and the queueing of the reply happen
// under the database write lock, so every commit is either in the reply or
// in an update queued after it (TestMonitorRegistrationRacesCommits).
func (sess *session) handleMonitor(m *jsonrpc.Message, params []any, version int) {
	want := 3
	if version == 3 {
		want = 4
	}
	if len(params) != want {
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "wrong number of monitor params"))
		return
	}
	e, errObj := sess.srv.dbParam(params, "monitor")
	if errObj != nil {
		sess.replyError(m.ID, errObj)
		return
	}
	mon, perr := ovsdb.ParseMonitor(e.db.Schema, params[2], version)
	if perr != nil {
		sess.replyError(m.ID, perr.AppendJSON(nil))
		return
	}
	var since ovsdb.UUID
	if version == 3 {
		s, _ := params[3].(string)
		u, err := ovsdb.ParseUUID(s)
		if err != nil {
			sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "last-txn-id is not a UUID"))
			return
		}
		since = u
	}
	idRaw := []byte(ovsdb.JSONString(params[1]))
	key := string(idRaw)
	sm := &sessionMonitor{sess: sess, db: e, id: idRaw, key: key, m: mon}
	sess.mu.Lock()
	if sess.monitors[key] != nil {
		sess.mu.Unlock()
		oe := &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: "duplicate monitor ID", Syntax: key}
		sess.replyError(m.ID, oe.AppendJSON(nil))
		return
	}
	sess.monitors[key] = sm
	sess.mu.Unlock()

	db := e.db
	db.Lock()
	defer db.Unlock()
	e.monitors = append(e.monitors, sm)
	if version < 3 {
		sess.reply(m.ID, mon.Initial(db))
		return
	}
	last := db.LastTxnIDLocked()
	b := []byte{'['}
	if commits, found := db.HistorySinceLocked(since); found {
		b = append(b, "true,\""...)
		b = append(b, last.String()...)
		b = append(b, "\","...)
		if body := mon.Update(commits); body != nil {
			b = append(b, body...)
		} else {
			b = append(b, "{}"...)
		}
	} else {
		b = append(b, "false,\""...)
		b = append(b, last.String()...)
		b = append(b, "\","...)
		b = append(b, mon.Initial(db)...)
	}
	sess.reply(m.ID, append(b, ']'))
}

func (sess *session) handleMonitorCondChange(m *jsonrpc.Message, params []any) {
	if len(params) != 3 {
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "monitor_cond_change expects 3 params"))
		return
	}
	oldKey := ovsdb.JSONString(params[0])
	newKey := ovsdb.JSONString(params[1])
	sess.mu.Lock()
	sm := sess.monitors[oldKey]
	if sm == nil {
		sess.mu.Unlock()
		oe := &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: "unknown monitor session", Syntax: oldKey}
		sess.replyError(m.ID, oe.AppendJSON(nil))
		return
	}
	if newKey != oldKey && sess.monitors[newKey] != nil {
		sess.mu.Unlock()
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "duplicate monitor ID"))
		return
	}
	sess.mu.Unlock()
	db := sm.db.db
	db.Lock()
	defer db.Unlock()
	body, err := sm.m.ChangeConditions(db, params[2])
	if err != nil {
		sess.replyError(m.ID, err.AppendJSON(nil))
		return
	}
	if newKey != oldKey {
		sess.mu.Lock()
		delete(sess.monitors, oldKey)
		sm.id, sm.key = []byte(newKey), newKey
		sess.monitors[newKey] = sm
		sess.mu.Unlock()
	}
	if body != nil {
		sm.notifyBody(db.LastTxnIDLocked(), body)
	}
	sess.reply(m.ID, []byte("{}"))
}

func (sess *session) handleMonitorCancel(m *jsonrpc.Message, params []any) {
	if len(params) != 1 {
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "monitor_cancel expects 1 param"))
		return
	}
	key := ovsdb.JSONString(params[0])
	sess.mu.Lock()
	sm := sess.monitors[key]
	delete(sess.monitors, key)
	sess.mu.Unlock()
	if sm == nil {
		sess.replyError(m.ID, []byte(`"unknown monitor"`))
		return
	}
	sm.db.db.Lock()
	sm.db.removeMonitor(sm)
	sm.db.db.Unlock()
	sess.reply(m.ID, []byte("{}"))
}
