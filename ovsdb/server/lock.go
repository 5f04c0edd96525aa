package server

import (
	"sync"

	"github.com/gvswitch/gvswitch/jsonrpc"
	"github.com/gvswitch/gvswitch/ovsdb"
)

// lockTable holds the server-wide named locks (RFC 7047 section 4.1.8).
// Each lock has an owner and a queue of waiting sessions.
type lockTable struct {
	mu    sync.Mutex
	locks map[string]*lockState
}

type lockState struct {
	owner   *session
	waiters []*session
}

func (lt *lockTable) init() { lt.locks = map[string]*lockState{} }

func (lt *lockTable) owns(sess *session, name string) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	l := lt.locks[name]
	return l != nil && l.owner == sess
}

func (l *lockState) has(sess *session) bool {
	if l.owner == sess {
		return true
	}
	for _, w := range l.waiters {
		if w == sess {
			return true
		}
	}
	return false
}

func (l *lockState) remove(sess *session) {
	out := l.waiters[:0]
	for _, w := range l.waiters {
		if w != sess {
			out = append(out, w)
		}
	}
	l.waiters = out
}

// promote gives a free lock to the first waiter and tells it so.
func (lt *lockTable) promote(name string, l *lockState) {
	if l.owner != nil {
		return
	}
	if len(l.waiters) == 0 {
		delete(lt.locks, name)
		return
	}
	l.owner = l.waiters[0]
	l.waiters = l.waiters[1:]
	b, _ := jsonrpc.MarshalJSON([]string{name})
	l.owner.notify("locked", b)
}

func (sess *session) handleLock(m *jsonrpc.Message, params []any) {
	lt := &sess.srv.locks
	if len(params) != 1 {
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, m.Method+" expects one lock name"))
		return
	}
	name, ok := params[0].(string)
	if !ok || name == "" {
		sess.replyError(m.ID, errJSON(ovsdb.TagSyntax, "lock name must be a non-empty string"))
		return
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	l := lt.locks[name]
	switch m.Method {
	case "lock", "steal":
		if l != nil && l.has(sess) {
			oe := &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: `must issue "unlock" before new "` + m.Method + `"`,
				Syntax: ovsdb.JSONString(params)}
			sess.replyError(m.ID, oe.AppendJSON(nil))
			return
		}
		if l == nil {
			l = &lockState{}
			lt.locks[name] = l
		}
		if m.Method == "steal" {
			if victim := l.owner; victim != nil {
				b, _ := jsonrpc.MarshalJSON([]string{name})
				victim.notify("stolen", b)
				l.waiters = append([]*session{victim}, l.waiters...)
			}
			l.owner = sess
			sess.reply(m.ID, []byte(`{"locked":true}`))
			return
		}
		if l.owner == nil {
			l.owner = sess
			sess.reply(m.ID, []byte(`{"locked":true}`))
			return
		}
		l.waiters = append(l.waiters, sess)
		sess.reply(m.ID, []byte(`{"locked":false}`))
	case "unlock":
		if l == nil || !l.has(sess) {
			oe := &ovsdb.Error{Tag: ovsdb.TagSyntax, Details: `unlock: "unlock" without "lock" or "steal"`,
				Syntax: ovsdb.JSONString(params)}
			sess.replyError(m.ID, oe.AppendJSON(nil))
			return
		}
		if l.owner == sess {
			l.owner = nil
		} else {
			l.remove(sess)
		}
		sess.reply(m.ID, []byte("{}"))
		lt.promote(name, l)
	}
}

// releaseAll drops every lock request of a closing session.
func (lt *lockTable) releaseAll(sess *session) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for name, l := range lt.locks {
		if !l.has(sess) {
			continue
		}
		if l.owner == sess {
			l.owner = nil
		} else {
			l.remove(sess)
		}
		lt.promote(name, l)
	}
}
