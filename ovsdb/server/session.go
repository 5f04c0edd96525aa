package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
)

// session is one client connection.
type session struct {
	srv    *Server
	conn   *jsonrpc.Conn
	probe  bool    // inactivity probes (TCP, SSL)
	remote *remote // the remote the session came from
	closed chan struct{}
	once   sync.Once

	// Output queue. Messages are queued in order and written by whichever
	// goroutine flushes first (see flush); what a non-blocking write cannot
	// place is left to the writer goroutine.
	outMu    sync.Mutex
	outCond  *sync.Cond
	out      [][]byte
	outBytes int
	outDead  bool
	writing  bool            // a goroutine is writing a batch taken from out
	pending  bool            // the session is on the server's fan-out list
	sc       *sockConn       // the socket outside Go's poller; nil for TLS
	raw      syscall.RawConn // for direct non-blocking writes when sc is nil; nil for TLS
	flushBuf []byte          // joins a batch; used only while writing

	lastRead atomic.Int64 // unix nanoseconds of the last message received

	// monitors and triggers are touched by the reader goroutine and by
	// commit hooks (under the database lock) and triggers.
	mu          sync.Mutex
	monitors    map[string]*sessionMonitor // by monitor id JSON text
	triggers    map[string]*trigger        // by request id JSON text
	changeAware bool

	// Replies to transactions waiting for their commit's sync, in request
	// order (see queueReply). durQ is used only by the reader goroutine,
	// which creates it, and by the replier goroutine it starts.
	durQ    chan syncedReply
	held    []syncedReply // queued by the reader, not yet handed to the replier
	durMu   sync.Mutex
	durCond *sync.Cond
	durN    int // replies queued or being finished
}

func (s *Server) startSession(c net.Conn, probe bool, r *remote) *session {
	sess := &session{srv: s, probe: probe, remote: r, closed: make(chan struct{}),
		monitors: map[string]*sessionMonitor{}, triggers: map[string]*trigger{}}
	sess.durCond = sync.NewCond(&sess.durMu)
	var rwc io.ReadWriteCloser = c
	switch c.(type) {
	case *net.UnixConn, *net.TCPConn:
		if sc, err := newSockConn(c); err == nil {
			sess.sc, rwc = sc, sc
		} else {
			s.log.Debug("ovsdb: socket stays in Go's poller", "err", err)
		}
	}
	if sess.sc == nil {
		if sc, ok := c.(syscall.Conn); ok {
			sess.raw, _ = sc.SyscallConn()
		}
	}
	sess.conn = jsonrpc.NewConn(rwc)
	sess.conn.BeforeRead = sess.releaseReplies
	sess.conn.MaxMessageSize = s.opts.MaxMessageSize
	sess.outCond = sync.NewCond(&sess.outMu)
	sess.lastRead.Store(time.Now().UnixNano())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		rwc.Close() // c itself, or the sockConn that took over its socket
		return nil
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	if r != nil {
		r.nconn.Add(1)
		s.remoteStatusChanged(r)
	}
	go sess.writer()
	go sess.reader()
	if probe && s.opts.ProbeInterval > 0 {
		s.wg.Add(1)
		go sess.prober(s.opts.ProbeInterval)
	}
	return sess
}

// close ends the session; it is safe to call more than once and from any
// goroutine.
func (sess *session) close() {
	sess.once.Do(func() {
		close(sess.closed)
		sess.conn.Close()
		sess.outMu.Lock()
		sess.outDead = true
		sess.out = nil
		sess.outCond.Broadcast()
		sess.outMu.Unlock()
	})
}

// send queues one encoded message and writes it (with anything queued
// before it) unless another goroutine is already writing for the session.
func (sess *session) send(b []byte) {
	if sess.enqueue(b) {
		sess.flush()
	}
}

// enqueue queues one encoded message without writing it. It reports
// whether the caller must flush the session (or have it flushed): false
// when another goroutine is writing the session's queue, or the session is
// already on the fan-out list, and so will write b too. A session whose
// backlog exceeds the limit is disconnected rather than allowed to stall
// its producers.
func (sess *session) enqueue(b []byte) bool {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	if sess.outDead {
		return false
	}
	if sess.outBytes+len(b) > sess.srv.opts.MaxBacklog {
		sess.outDead = true
		sess.out = nil
		sess.outBytes = 0
		sess.outCond.Broadcast()
		go func() {
			sess.srv.log.Warn("ovsdb: disconnecting client: output backlog exceeded", "limit", sess.srv.opts.MaxBacklog)
			sess.close()
		}()
		return false
	}
	sess.out = append(sess.out, b)
	sess.outBytes += len(b)
	if sess.writing || sess.pending {
		return false
	}
	sess.pending = true
	return true
}

// flush writes the queue with non-blocking writes, sparing a goroutine
// wake-up per message, until it is empty or the socket is full; the rest
// goes to the writer goroutine. Only one goroutine writes at a time, and
// no other lock is held while writing.
func (sess *session) flush() {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	sess.pending = false
	if sess.writing || sess.outDead || len(sess.out) == 0 {
		return
	}
	if sess.sc == nil && sess.raw == nil { // TLS: the writer goroutine does all writes
		sess.outCond.Signal()
		return
	}
	for len(sess.out) > 0 && !sess.outDead {
		batch := sess.out
		sess.out = nil
		sess.outBytes = 0
		sess.writing = true
		sess.outMu.Unlock()
		buf := batch[0]
		if len(batch) > 1 {
			buf = sess.flushBuf[:0]
			for _, m := range batch {
				buf = append(buf, m...)
			}
			if cap(buf) <= 1<<20 {
				sess.flushBuf = buf
			}
		}
		n := sess.tryWrite(buf)
		var rest []byte
		if n < len(buf) {
			rest = append([]byte(nil), buf[n:]...)
		}
		sess.outMu.Lock()
		sess.writing = false
		if sess.out == nil && rest == nil {
			// Keep the queue's array for the next message rather than
			// allocating one per update.
			clear(batch)
			sess.out = batch[:0]
		}
		if rest != nil && !sess.outDead {
			// The socket is full: the writer goroutine blocks on it.
			sess.out = append([][]byte{rest}, sess.out...)
			sess.outBytes += len(rest)
			sess.outCond.Signal()
			return
		}
	}
}

// tryWrite writes as much of b as the socket takes without blocking.
func (sess *session) tryWrite(b []byte) int {
	if sess.sc != nil {
		return sess.sc.tryWrite(b)
	}
	n := 0
	_ = sess.raw.Write(func(fd uintptr) bool {
		n = writeNoWait(fd, b)
		return true // never wait: the writer goroutine handles the rest
	})
	return n
}

func (sess *session) sendMsg(m *jsonrpc.Message) { sess.send(m.Marshal()) }

func (sess *session) reply(id json.RawMessage, result []byte) {
	sess.sendMsg(&jsonrpc.Message{Kind: jsonrpc.KindReply, ID: id, Result: result})
}

func (sess *session) replyError(id json.RawMessage, errObj []byte) {
	sess.sendMsg(&jsonrpc.Message{Kind: jsonrpc.KindError, ID: id, Error: errObj})
}

func (sess *session) notify(method string, params []byte) {
	sess.sendMsg(&jsonrpc.Message{Kind: jsonrpc.KindNotify, Method: method, Params: params})
}

func (sess *session) writer() {
	defer sess.srv.wg.Done()
	var buf []byte
	for {
		sess.outMu.Lock()
		for (len(sess.out) == 0 || sess.writing) && !sess.outDead {
			sess.outCond.Wait()
		}
		if sess.outDead {
			sess.outMu.Unlock()
			return
		}
		batch := sess.out
		sess.out = nil
		sess.outBytes = 0
		sess.writing = true
		sess.outMu.Unlock()
		buf = buf[:0]
		for _, b := range batch {
			buf = append(buf, b...)
		}
		err := sess.conn.WriteRaw(buf)
		sess.outMu.Lock()
		sess.writing = false
		sess.outMu.Unlock()
		if err != nil {
			sess.close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}

func (sess *session) prober(interval time.Duration) {
	defer sess.srv.wg.Done()
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	var probeSent time.Time
	for {
		select {
		case <-sess.closed:
			return
		case now := <-t.C:
			last := time.Unix(0, sess.lastRead.Load())
			switch {
			case now.Sub(last) < interval:
				probeSent = time.Time{}
			case probeSent.IsZero():
				probeSent = now
				sess.sendMsg(&jsonrpc.Message{Kind: jsonrpc.KindRequest, Method: "echo", Params: []byte("[]"),
					ID: []byte(`"echo"`)})
			case now.Sub(probeSent) >= interval:
				sess.srv.log.Info("ovsdb: no response to inactivity probe, disconnecting")
				sess.close()
				return
			}
		}
	}
}

func (sess *session) reader() {
	defer sess.srv.wg.Done()
	defer sess.cleanup()
	for {
		raw, err := sess.conn.ReadRaw()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				sess.srv.log.Debug("ovsdb: closing session", "err", err)
			}
			return
		}
		sess.lastRead.Store(time.Now().UnixNano())
		m, err := jsonrpc.Parse(raw)
		if err != nil {
			sess.srv.log.Info("ovsdb: closing session after protocol error", "err", err)
			return
		}
		if !sess.dispatchSafely(m) {
			return
		}
	}
}

// dispatchSafely handles one message. A bug triggered by a client's input
// must not take the whole daemon down: a panic is logged and ends only this
// session (reported false).
func (sess *session) dispatchSafely(m *jsonrpc.Message) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			sess.srv.log.Error("ovsdb: internal error handling request; closing session",
				"method", m.Method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	switch m.Kind {
	case jsonrpc.KindRequest:
		sess.handleRequest(m)
	case jsonrpc.KindNotify:
		if m.Method == "cancel" {
			sess.handleCancel(m)
		}
	}
	return true
}

// cleanup releases everything the session holds once its reader stops.
func (sess *session) cleanup() {
	sess.close()
	if sess.durQ != nil {
		sess.releaseReplies()
		close(sess.durQ) // the replier finishes what is queued and exits
	}
	srv := sess.srv
	sess.mu.Lock()
	mons := make([]*sessionMonitor, 0, len(sess.monitors))
	for _, m := range sess.monitors {
		mons = append(mons, m)
	}
	sess.monitors = map[string]*sessionMonitor{}
	sess.mu.Unlock()
	for _, m := range mons {
		m.db.db.Lock()
		m.db.removeMonitor(m)
		m.db.db.Unlock()
	}
	srv.locks.releaseAll(sess)
	srv.mu.Lock()
	delete(srv.sessions, sess)
	srv.mu.Unlock()
	if sess.remote != nil {
		sess.remote.nconn.Add(-1)
		srv.remoteStatusChanged(sess.remote)
	}
}
