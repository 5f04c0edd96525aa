package server

import (
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/gvswitch/gvswitch/ovsdb"
)

// A client may send its next requests before the reply to a durable
// transaction (JSON-RPC allows it; libovsdb's client does when goroutines
// share one connection). The reader then does not wait for the commit's
// sync: it queues the reply and goes on with the next request. The queued
// replies go to the session's replier goroutine, which waits for the sync
// and replies, once the reader has handled every request it had already
// received (it is about to read, see jsonrpc.Conn.BeforeRead) or has held
// maxHeldReplies: so the transactions a client sent together are written
// and synced together (group commit, as commits from different sessions
// are), and while that sync runs the reader goes on with what arrives next.
// Every reply still goes out only after its commit is on disk, and replies
// keep the order of the requests: a transaction's reply joins the queue
// while it is not empty, and any other request waits until the queue is
// empty before it is handled.

// maxQueuedReplies bounds one session's queue; the reader waits for room,
// so a client cannot make the server hold more.
const maxQueuedReplies = 64

// maxHeldReplies bounds the replies the reader holds back before it hands
// them to the replier (and so the commits one sync waits to gather).
const maxHeldReplies = 32

type syncedReply struct {
	id  json.RawMessage
	res *ovsdb.TxnResult
}

// queueReply hands a transaction's reply to the replier goroutine when
// earlier replies are still queued, or when the commit must be synced
// first and the client has already sent more (a serial client's reader
// waits for the sync itself, which spares a goroutine hand-off), and
// reports whether it did; otherwise the caller replies itself.
func (sess *session) queueReply(id json.RawMessage, res *ovsdb.TxnResult) bool {
	if !sess.repliesQueued() && (!res.Syncs() || sess.conn.Buffered() == 0) {
		return false
	}
	if sess.durQ == nil {
		srv := sess.srv
		srv.mu.Lock()
		if srv.closed {
			srv.mu.Unlock()
			return false
		}
		srv.wg.Add(1)
		srv.mu.Unlock()
		sess.durQ = make(chan syncedReply, maxQueuedReplies)
		go sess.replier(sess.durQ)
	}
	sess.durMu.Lock()
	sess.durN++
	sess.durMu.Unlock()
	sess.held = append(sess.held, syncedReply{id, res})
	if len(sess.held) >= maxHeldReplies {
		sess.releaseReplies()
	}
	return true
}

// releaseReplies hands the held replies to the replier. Only the reader
// goroutine calls it.
func (sess *session) releaseReplies() {
	for i, r := range sess.held {
		sess.durQ <- r
		sess.held[i] = syncedReply{}
	}
	sess.held = sess.held[:0]
}

func (sess *session) repliesQueued() bool {
	if sess.durQ == nil {
		return false
	}
	sess.durMu.Lock()
	defer sess.durMu.Unlock()
	return sess.durN > 0
}

// drainReplies waits until every queued reply has been sent.
func (sess *session) drainReplies() {
	if sess.durQ == nil {
		return
	}
	sess.releaseReplies()
	sess.durMu.Lock()
	for sess.durN > 0 {
		sess.durCond.Wait()
	}
	sess.durMu.Unlock()
}

// replier finishes queued transactions in order until q is closed.
func (sess *session) replier(q <-chan syncedReply) {
	defer sess.srv.wg.Done()
	for r := range q {
		sess.finishQueued(r)
		sess.durMu.Lock()
		if sess.durN--; sess.durN == 0 {
			sess.durCond.Broadcast()
		}
		sess.durMu.Unlock()
	}
}

// finishQueued replies to one queued transaction; a panic closes the
// session, as it does in the reader.
func (sess *session) finishQueued(r syncedReply) {
	defer func() {
		if p := recover(); p != nil {
			sess.srv.log.Error("ovsdb: internal error replying to a transaction; closing session",
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			sess.close()
		}
	}()
	sess.finishTransact(r.id, r.res)
}
