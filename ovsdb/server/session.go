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

	// output queue, drained by the writer goroutine
	outMu    sync.Mutex
	outCond  *sync.Cond
	out      [][]byte
	outBytes int
	outDead  bool
	writing  bool            // the writer goroutine has a batch in flight
	raw      syscall.RawConn // for direct non-blocking writes; nil for TLS

	lastRead atomic.Int64 // unix nanoseconds of the last message received

	// monitors and triggers are touched by the reader goroutine and by
	// commit hooks (under the database lock) and triggers.
	mu          sync.Mutex
	monitors    map[string]*sessionMonitor // by monitor id JSON text
	triggers    map[string]*trigger        // by request id JSON text
	changeAware bool
}

func (s *Server) startSession(c net.Conn, probe bool, r *remote) *session {
	sess := &session{srv: s, conn: jsonrpc.NewConn(c), probe: probe, remote: r, closed: make(chan struct{}),
		monitors: map[string]*sessionMonitor{}, triggers: map[string]*trigger{}}
	sess.conn.MaxMessageSize = s.opts.MaxMessageSize
	if sc, ok := c.(syscall.Conn); ok {
		sess.raw, _ = sc.SyscallConn()
	}
	sess.outCond = sync.NewCond(&sess.outMu)
	sess.lastRead.Store(time.Now().UnixNano())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
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

// send queues one encoded message. A session whose backlog exceeds the
// limit is disconnected rather than allowed to stall its producers.
func (sess *session) send(b []byte) {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	if sess.outDead {
		return
	}
	if len(sess.out) == 0 && !sess.writing && sess.raw != nil {
		// Nothing queued and the socket is ours: try to write right away
		// (non-blocking), sparing a goroutine wake-up per message. What
		// does not fit is queued for the writer.
		n := sess.tryWrite(b)
		if n == len(b) {
			return
		}
		b = b[n:]
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
		return
	}
	sess.out = append(sess.out, b)
	sess.outBytes += len(b)
	sess.outCond.Signal()
}

// tryWrite writes as much of b as the socket takes without blocking.
func (sess *session) tryWrite(b []byte) int {
	n := 0
	_ = sess.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				break
			}
		}
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
		for len(sess.out) == 0 && !sess.outDead {
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
