package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/ovsdb"
)

// remote is one remote: a listener (passive) or a connection the server
// keeps re-establishing (active).
type remote struct {
	name string
	ln   net.Listener
	path string        // unix socket file to remove on close
	stop chan struct{} // closes an active remote
	once sync.Once

	nconn atomic.Int32 // live sessions on this remote
}

func (r *remote) close() {
	if r.ln != nil {
		r.ln.Close()
	}
	if r.path != "" {
		os.Remove(r.path)
	}
	if r.stop != nil {
		r.once.Do(func() { close(r.stop) })
	}
}

// Backoff between attempts to (re)connect an active remote, as
// ovsdb-server's reconnect: 1 s doubling up to 8 s.
const (
	minBackoff = time.Second
	maxBackoff = 8 * time.Second
)

// active keeps one session open to an active remote ("tcp:IP:PORT",
// "unix:PATH", "ssl:IP:PORT"), reconnecting with backoff until the remote
// is removed or the server closes.
func (s *Server) active(r *remote, network, addr string, useTLS bool) {
	defer s.wg.Done()
	backoff := minBackoff
	for {
		var c net.Conn
		var err error
		d := net.Dialer{Timeout: 5 * time.Second}
		if useTLS {
			var cfg *tls.Config
			if cfg, err = s.tlsClientConfig(); err == nil {
				c, err = tls.DialWithDialer(&d, network, addr, cfg)
			}
		} else {
			c, err = d.Dial(network, addr)
		}
		if err == nil {
			backoff = minBackoff
			if sess := s.startSession(c, network != "unix", r); sess != nil {
				select {
				case <-sess.closed:
				case <-r.stop:
					sess.close()
					return
				}
			}
		} else {
			s.log.Debug("ovsdb: connecting to remote", "remote", r.name, "err", err)
		}
		select {
		case <-r.stop:
			return
		case <-s.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// tlsClientConfig is the configuration for active ssl: remotes: our key
// and certificate, and the CA that must have signed the peer's.
func (s *Server) tlsClientConfig() (*tls.Config, error) {
	key := s.resolveSSLFile(s.opts.PrivateKey)
	cert := s.resolveSSLFile(s.opts.Certificate)
	if key == "" || cert == "" {
		return nil, errors.New("ssl: private key or certificate not configured")
	}
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("ssl: %w", err)
	}
	// Open vSwitch checks the peer against the CA but not its name.
	cfg := &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if ca := s.resolveSSLFile(s.opts.CACert); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ssl: read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("ssl: peer sent no certificate")
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			inter := x509.NewCertPool()
			for _, r := range raw[1:] {
				if c, err := x509.ParseCertificate(r); err == nil {
					inter.AddCert(c)
				}
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return err
		}
	}
	return cfg, nil
}

// Errors AddRemote and RemoveRemote return.
var (
	ErrUnsupportedRemote = errors.New("unsupported remote")
	ErrNoRemote          = errors.New("no such remote")
	ErrClosed            = errors.New("server closed")
)

// AddRemote starts serving an Open vSwitch remote: passive "punix:PATH",
// "ptcp:PORT[:IP]" and "pssl:PORT[:IP]" listen; active "unix:PATH",
// "tcp:IP:PORT" and "ssl:IP:PORT" connect out and reconnect with backoff;
// "db:DB,TABLE,COLUMN" names remotes of either kind by the
// values in the database (strings, or the "target" column of referenced
// rows, as in Open_vSwitch.manager_options -> Manager.target), re-read
// after every commit. Adding a remote twice is a no-op.
func (s *Server) AddRemote(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.remotes[name]; ok {
		return nil
	}
	if strings.HasPrefix(name, "db:") {
		if _, _, _, err := s.parseDBRemote(name); err != nil {
			return err
		}
		s.remotes[name] = &remote{name: name}
		if len(s.dbRemote) == 0 {
			s.wg.Add(1)
			go s.remoteLoop()
		}
		s.dbRemote[name] = nil
		go s.reconcileDBRemotes()
		return nil
	}
	r, err := s.listen(name)
	if err != nil {
		return err
	}
	s.remotes[name] = r
	return nil
}

// RemoveRemote stops a remote added by AddRemote.
func (s *Server) RemoveRemote(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.remotes[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoRemote, name)
	}
	delete(s.remotes, name)
	r.close()
	if strings.HasPrefix(name, "db:") {
		for _, t := range s.dbRemote[name] {
			s.dropDerivedLocked(t)
		}
		delete(s.dbRemote, name)
	}
	return nil
}

// ListRemotes returns the configured remotes, sorted.
func (s *Server) ListRemotes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.remotes {
		if !strings.HasPrefix(name, "derived:") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Addr returns the bound address of a listening remote (for "ptcp:0").
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{name, "derived:" + name} {
		if r := s.remotes[key]; r != nil && r.ln != nil {
			return r.ln.Addr()
		}
	}
	return nil
}

// splitPort parses "PORT[:IP]" as Open vSwitch's ptcp/pssl do.
func splitPort(spec string) (string, error) {
	port, host, _ := strings.Cut(spec, ":")
	if port == "" {
		port = "0"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return net.JoinHostPort(host, port), nil
}

func (s *Server) listen(name string) (*remote, error) {
	kind, arg, _ := strings.Cut(name, ":")
	r := &remote{name: name}
	var err error
	probe := true
	switch kind {
	case "punix":
		if arg == "" {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedRemote, name)
		}
		if fi, e := os.Lstat(arg); e == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(arg)
		}
		r.ln, err = net.Listen("unix", arg)
		if err == nil {
			r.path = arg
			err = os.Chmod(arg, 0o770)
		}
		probe = false
	case "ptcp":
		var addr string
		if addr, err = splitPort(arg); err == nil {
			r.ln, err = net.Listen("tcp", addr)
		}
	case "pssl":
		var addr string
		if addr, err = splitPort(arg); err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", addr); err == nil {
				r.ln = tls.NewListener(ln, &tls.Config{GetConfigForClient: s.tlsConfig})
			}
		}
	case "tcp", "unix", "ssl":
		network := kind
		if kind == "ssl" {
			network = "tcp"
		}
		if arg == "" {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedRemote, name)
		}
		r.stop = make(chan struct{})
		s.wg.Add(1)
		go s.active(r, network, arg, kind == "ssl")
		return r, nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedRemote, name)
	}
	if err != nil {
		r.close()
		return nil, fmt.Errorf("listen %s: %w", name, err)
	}
	s.wg.Add(1)
	go s.accept(r, probe)
	return r, nil
}

func (s *Server) accept(r *remote, probe bool) {
	defer s.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		s.startSession(c, probe, r)
	}
}

// resolveSSLFile returns a PEM file name from an option that is either a
// path or a db:DB,TABLE,COLUMN reference.
func (s *Server) resolveSSLFile(opt string) string {
	if !strings.HasPrefix(opt, "db:") {
		return opt
	}
	vals, _ := s.readDBRemote(opt)
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

func (s *Server) tlsConfig(*tls.ClientHelloInfo) (*tls.Config, error) {
	key := s.resolveSSLFile(s.opts.PrivateKey)
	cert := s.resolveSSLFile(s.opts.Certificate)
	if key == "" || cert == "" {
		return nil, errors.New("pssl: private key or certificate not configured")
	}
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("pssl: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
	if ca := s.resolveSSLFile(s.opts.CACert); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("pssl: read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

func (s *Server) parseDBRemote(name string) (*dbEntry, *ovsdb.TableSchema, *ovsdb.ColumnSchema, error) {
	parts := strings.Split(strings.TrimPrefix(name, "db:"), ",")
	if len(parts) != 3 {
		return nil, nil, nil, fmt.Errorf("%w: %s: want db:DB,TABLE,COLUMN", ErrUnsupportedRemote, name)
	}
	e := s.dbs[parts[0]]
	if e == nil {
		return nil, nil, nil, fmt.Errorf("%s: no database named %s", name, parts[0])
	}
	ts := e.db.Schema.Table(parts[1])
	if ts == nil {
		return nil, nil, nil, fmt.Errorf("%s: no table named %s", name, parts[1])
	}
	c := ts.Column(parts[2])
	if c == nil {
		return nil, nil, nil, fmt.Errorf("%s: no column named %s", name, parts[2])
	}
	if c.Type.Key.Type != ovsdb.TypeString && c.Type.Key.Type != ovsdb.TypeUUID {
		return nil, nil, nil, fmt.Errorf("%s: column type must be string or uuid", name)
	}
	return e, ts, c, nil
}

// readDBRemote returns the current values a db: reference names.
func (s *Server) readDBRemote(name string) ([]string, error) {
	e, ts, c, err := s.parseDBRemote(name)
	if err != nil {
		return nil, err
	}
	db := e.db
	db.RLock()
	defer db.RUnlock()
	var out []string
	for _, r := range db.TableLocked(ts.Name).Rows {
		d := r.Data[c.Index].Flat()
		for _, a := range d.Keys {
			if c.Type.Key.Type == ovsdb.TypeString {
				out = append(out, a.S)
				continue
			}
			ref := c.Type.Key.Ref
			if ref == nil {
				continue
			}
			tc := ref.Column("target")
			if tc == nil || tc.Type.Key.Type != ovsdb.TypeString {
				continue
			}
			if rr := db.TableLocked(ref.Name).Rows[a.U]; rr != nil {
				for _, t := range rr.Data[tc.Index].Flat().Keys {
					out = append(out, t.S)
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *Server) remoteLoop() {
	defer s.wg.Done()
	for {
		ch := s.main.db.Changed()
		s.reconcileDBRemotes()
		select {
		case <-ch:
		case <-s.done:
			return
		}
	}
}

// reconcileDBRemotes listens on the targets db: remotes name now and stops
// listening on targets they no longer name.
func (s *Server) reconcileDBRemotes() {
	s.mu.Lock()
	names := make([]string, 0, len(s.dbRemote))
	for n := range s.dbRemote {
		names = append(names, n)
	}
	s.mu.Unlock()
	for _, n := range names {
		vals, err := s.readDBRemote(n)
		if err != nil {
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		if _, still := s.dbRemote[n]; !still {
			s.mu.Unlock()
			continue
		}
		old := s.dbRemote[n]
		keep := map[string]bool{}
		for _, v := range vals {
			keep[v] = true
		}
		var now []string
		for _, t := range old {
			if !keep[t] {
				s.dropDerivedLocked(t)
			}
		}
		for _, t := range vals {
			key := "derived:" + t
			_, direct := s.remotes[t] // also configured directly: already served
			if _, ok := s.remotes[key]; !ok && !direct {
				r, err := s.listen(t)
				if err != nil {
					s.log.Warn("ovsdb: db remote", "target", t, "err", err)
					continue
				}
				r.name = key
				s.remotes[key] = r
			}
			now = append(now, t)
		}
		s.dbRemote[n] = now
		s.mu.Unlock()
	}
	s.updateRemoteStatus()
}

// updateRemoteStatus writes, like ovsdb-server, the connection state of
// db: remote targets back into their rows (Manager.is_connected and
// Manager.status: bound_port of a listener, n_connections when several),
// committing only when something changed. Both columns are ephemeral.
func (s *Server) updateRemoteStatus() {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	type state struct {
		connected bool
		status    [][2]string
	}
	want := map[string]state{}
	var refTables []*ovsdb.TableSchema
	for name, targets := range s.dbRemote {
		_, _, c, err := s.parseDBRemote(name)
		if err != nil || c.Type.Key.Ref == nil {
			continue
		}
		refTables = append(refTables, c.Type.Key.Ref)
		for _, t := range targets {
			r := s.remotes["derived:"+t]
			if r == nil {
				r = s.remotes[t]
			}
			var st state
			if r != nil {
				n := r.nconn.Load()
				st.connected = n > 0
				if r.ln != nil {
					if ta, ok := r.ln.Addr().(*net.TCPAddr); ok {
						st.status = append(st.status, [2]string{"bound_port", strconv.Itoa(ta.Port)})
					}
				}
				if n > 1 {
					st.status = append(st.status, [2]string{"n_connections", strconv.Itoa(int(n))})
				}
			}
			want[t] = st
		}
	}
	s.mu.Unlock()
	db := s.main.db
	for _, ts := range refTables {
		tc, ic, sc := ts.Column("target"), ts.Column("is_connected"), ts.Column("status")
		if tc == nil || ic == nil || sc == nil {
			continue
		}
		var ops []any
		db.RLock()
		for u, row := range db.TableLocked(ts.Name).Rows {
			if len(row.Data[tc.Index].Keys) != 1 {
				continue
			}
			st, ok := want[row.Data[tc.Index].Keys[0].S]
			if !ok {
				continue
			}
			pairs := make([]any, 0, len(st.status))
			for _, kv := range st.status {
				pairs = append(pairs, []any{kv[0], kv[1]})
			}
			status := []any{"map", pairs}
			newStatus := string(ovsdb.JSONString(status))
			curStatus := string(row.Data[sc.Index].AppendJSON(nil, &sc.Type))
			curConn := len(row.Data[ic.Index].Keys) == 1 && row.Data[ic.Index].Keys[0].Bool()
			if curConn == st.connected && canonMap(curStatus) == canonMap(newStatus) {
				continue
			}
			ops = append(ops, map[string]any{"op": "update", "table": ts.Name,
				"where": []any{[]any{"_uuid", "==", []any{"uuid", u.String()}}},
				"row":   map[string]any{"is_connected": st.connected, "status": status}})
		}
		db.RUnlock()
		if len(ops) > 0 {
			res := db.Transact(ops, ovsdb.TxnOptions{Internal: true})
			s.waitFanOut()
			if res.Err != nil {
				s.log.Warn("ovsdb: updating remote status", "err", res.Err)
			} else {
				_ = res.Durable()
			}
		}
	}
}

// canonMap makes two JSON maps comparable regardless of pair order.
func canonMap(js string) string {
	v, err := ovsdb.ParseJSON([]byte(js))
	if err != nil {
		return js
	}
	return ovsdb.JSONString(v)
}

func (s *Server) dropDerivedLocked(t string) {
	key := "derived:" + t
	if r := s.remotes[key]; r != nil {
		r.close()
		delete(s.remotes, key)
	}
}
