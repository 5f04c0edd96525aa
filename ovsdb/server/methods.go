package server

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb"
)

func errJSON(tag, details string) []byte {
	e := &ovsdb.Error{Tag: tag, Details: details}
	return e.AppendJSON(nil)
}

// parseParams decodes a request's params array.
func parseParams(m *jsonrpc.Message) ([]any, error) {
	v, err := ovsdb.ParseJSON(m.Params)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("params is not an array")
	}
	return arr, nil
}

func (sess *session) handleRequest(m *jsonrpc.Message) {
	if m.Method != "transact" {
		sess.drainReplies() // replies in request order (pipeline.go)
	}
	params, err := parseParams(m)
	if err != nil {
		sess.drainReplies()
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, err.Error()))
		return
	}
	switch m.Method {
	case "echo":
		sess.reply(m.ID, m.Params)
	case "list_dbs":
		b, _ := jsonrpc.MarshalJSON(sess.srv.dbNames)
		sess.reply(m.ID, b)
	case "get_schema":
		e, errObj := sess.srv.dbParam(params, "get_schema")
		if errObj != nil {
			sess.replyError(m.ID, errObj)
			return
		}
		sess.reply(m.ID, e.schemaJS)
	case "transact":
		sess.handleTransact(m, params)
	case "monitor":
		sess.handleMonitor(m, params, 1)
	case "monitor_cond":
		sess.handleMonitor(m, params, 2)
	case "monitor_cond_since":
		sess.handleMonitor(m, params, 3)
	case "monitor_cond_change":
		sess.handleMonitorCondChange(m, params)
	case "monitor_cancel":
		sess.handleMonitorCancel(m, params)
	case "lock", "steal", "unlock":
		sess.handleLock(m, params)
	case "get_server_id":
		b, _ := jsonrpc.MarshalJSON(sess.srv.serverID.String())
		sess.reply(m.ID, b)
	case "set_db_change_aware":
		if len(params) != 1 {
			sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "set_db_change_aware expects one boolean"))
			return
		}
		b, ok := params[0].(bool)
		if !ok {
			sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "set_db_change_aware expects one boolean"))
			return
		}
		sess.mu.Lock()
		sess.changeAware = b
		sess.mu.Unlock()
		sess.reply(m.ID, []byte("{}"))
	case "cancel":
		sess.handleCancel(m)
	default:
		sess.replyError(m.ID, []byte(`"unknown method"`))
	}
}

// dbParam resolves params[0] as a database name.
func (s *Server) dbParam(params []any, method string) (*dbEntry, []byte) {
	var name string
	ok := len(params) > 0
	if ok {
		name, ok = params[0].(string)
	}
	if !ok {
		oe := &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: method + " request params must begin with <db-name>",
			Syntax: ovsdb.JSONString(params)}
		return nil, oe.AppendJSON(nil)
	}
	e := s.dbs[name]
	if e == nil {
		oe := &ovsdb.Error{Tag: ovsdb.TagUnknownDatabase, Details: method + " request specifies unknown database " + name,
			Syntax: ovsdb.JSONString(params)}
		return nil, oe.AppendJSON(nil)
	}
	return e, nil
}

func (sess *session) handleTransact(m *jsonrpc.Message, params []any) {
	e, errObj := sess.srv.dbParam(params, "transact")
	if errObj != nil {
		sess.drainReplies()
		sess.replyError(m.ID, errObj)
		return
	}
	opts := ovsdb.TxnOptions{Start: time.Now(), HasLock: func(name string) bool { return sess.srv.locks.owns(sess, name) }}
	ops := params[1:]
	res := e.db.Transact(ops, opts)
	if res.Blocked {
		sess.park(m.ID, e, ops, opts, res)
		return
	}
	if sess.queueReply(m.ID, res) {
		return
	}
	sess.finishTransact(m.ID, res)
}

// finishTransact waits for durability, then replies.
func (sess *session) finishTransact(id json.RawMessage, res *ovsdb.TxnResult) {
	if err := res.Durable(); err != nil {
		// The commit is in memory and monitors saw it, but it is not on
		// disk: report it as Open vSwitch would an I/O error.
		sess.replyError(id, errJSON(ovsdb.TagIO, err.Error()))
		return
	}
	if res.Commit != nil {
		sess.srv.waitFanOut()
	}
	sess.reply(id, res.Reply)
	if res.Commit != nil {
		sess.srv.afterCommit()
	}
}

// trigger is a transaction parked on an unsatisfied "wait".
type trigger struct {
	cancel chan struct{}
}

func (sess *session) park(id json.RawMessage, e *dbEntry, ops []any, opts ovsdb.TxnOptions, res *ovsdb.TxnResult) {
	key := idKey(id)
	tr := &trigger{cancel: make(chan struct{})}
	sess.mu.Lock()
	sess.triggers[key] = tr
	sess.mu.Unlock()
	srv := sess.srv
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return
	}
	srv.wg.Add(1)
	srv.mu.Unlock()
	go func() {
		defer srv.wg.Done()
		defer func() {
			sess.mu.Lock()
			if sess.triggers[key] == tr {
				delete(sess.triggers, key)
			}
			sess.mu.Unlock()
		}()
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			changed := e.db.Changed()
			if !res.Blocked {
				sess.finishTransact(id, res)
				return
			}
			timer.Stop()
			if !res.Deadline.IsZero() {
				timer.Reset(time.Until(res.Deadline))
			}
			select {
			case <-changed:
			case <-timer.C:
			case <-tr.cancel:
				sess.mu.Lock()
				aware := sess.changeAware
				sess.mu.Unlock()
				if aware {
					sess.replyError(id, errJSON(ovsdb.TagCanceled, ""))
				}
				return
			case <-sess.closed:
				return
			}
			res = e.db.Transact(ops, opts)
		}
	}()
}

func (sess *session) handleCancel(m *jsonrpc.Message) {
	params, err := parseParams(m)
	if err != nil || len(params) != 1 {
		return
	}
	key := ovsdb.JSONString(params[0])
	sess.mu.Lock()
	tr := sess.triggers[key]
	delete(sess.triggers, key)
	sess.mu.Unlock()
	if tr != nil {
		close(tr.cancel)
	}
}

// idKey normalises a JSON id for use as a map key.
func idKey(id json.RawMessage) string {
	v, err := ovsdb.ParseJSON(id)
	if err != nil {
		return string(id)
	}
	return ovsdb.JSONString(v)
}
