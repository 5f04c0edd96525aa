package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/ovsdb"
	"github.com/gvswitch/gvswitch/ovsdb/storage"
	"github.com/gvswitch/gvswitch/ovsdb/vswitch"
)

// Options configure a Server.
type Options struct {
	// DBPath is the database file; it is created with Schema when missing.
	// Empty keeps the database in memory.
	DBPath string
	// Schema is the schema for a new database; nil means the embedded
	// Open_vSwitch schema.
	Schema []byte
	// KeepSchema keeps an existing database file's schema even when its
	// version differs from Schema's. By default such a file is converted
	// to Schema on open (as ovs-ctl does with ovsdb-tool convert before
	// starting ovsdb-server) and compacted.
	KeepSchema bool
	// Remotes are added by New (see AddRemote).
	Remotes []string
	// PrivateKey, Certificate and CACert are PEM file names for pssl
	// remotes, or "db:DB,TABLE,COLUMN" references (as ovs-ctl passes
	// db:Open_vSwitch,SSL,private_key).
	PrivateKey, Certificate, CACert string
	// MaxBacklog bounds the bytes queued to one client; a client that falls
	// further behind is disconnected. Zero means 64 MiB.
	MaxBacklog int
	// MaxMessageSize bounds one incoming JSON-RPC message; a client that
	// sends a larger one is disconnected. Zero means jsonrpc's default.
	MaxMessageSize int
	// ProbeInterval is the inactivity probe for TCP and SSL sessions; zero
	// means 5 s, negative disables probes.
	ProbeInterval time.Duration
	// Logger receives connection-level events; nil means slog.Default().
	Logger *slog.Logger
}

// Server is an OVSDB server hosting one database plus _Server.
type Server struct {
	opts     Options
	log      *slog.Logger
	serverID ovsdb.UUID

	dbs     map[string]*dbEntry
	dbNames []string
	main    *dbEntry
	srvDB   *dbEntry

	storage   *storage.Log
	compactMu sync.Mutex
	compactOn atomic.Bool

	mu       sync.Mutex
	remotes  map[string]*remote // configured remotes by name
	dbRemote map[string][]string
	sessions map[*session]struct{}
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup

	locks lockTable

	// fan-out of monitor updates (see dispatch)
	fanMu   sync.Mutex
	fanList []*session // sessions with updates to write
	fanBusy int        // sessions taken from fanList and being flushed
	fanIdle *sync.Cond // on fanMu: signalled when fanBusy drops to zero

	statusMu sync.Mutex // serialises remote status updates
}

// remoteStatusChanged refreshes Manager status after a connection to a
// db:-derived remote opened or closed.
func (s *Server) remoteStatusChanged(r *remote) {
	s.mu.Lock()
	derived := strings.HasPrefix(r.name, "derived:") || len(s.dbRemote) > 0
	s.mu.Unlock()
	if derived {
		go s.updateRemoteStatus()
	}
}

// dbEntry is one hosted database and the monitors on it.
type dbEntry struct {
	db       *ovsdb.Database
	schemaJS []byte
	monitors []*sessionMonitor // in registration order; guarded by the database write lock
}

// New opens (or creates) the database and starts listening on opts.Remotes.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBacklog <= 0 {
		opts.MaxBacklog = 64 << 20
	}
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = 5 * time.Second
	}
	schemaJSON := opts.Schema
	if schemaJSON == nil {
		schemaJSON = vswitch.SchemaJSON
	}
	s := &Server{opts: opts, log: opts.Logger, serverID: ovsdb.NewUUID(), dbs: map[string]*dbEntry{},
		remotes: map[string]*remote{}, dbRemote: map[string][]string{}, sessions: map[*session]struct{}{},
		done: make(chan struct{})}
	s.locks.init()
	s.fanIdle = sync.NewCond(&s.fanMu)
	db, err := s.openDB(schemaJSON)
	if err != nil {
		return nil, err
	}
	s.main = s.addDB(db)
	srv := ovsdb.NewDatabase(ovsdb.ServerSchema())
	srv.SetReadOnly(true)
	s.srvDB = s.addDB(srv)
	sort.Strings(s.dbNames)
	for _, name := range s.dbNames {
		e := s.dbs[name]
		row := map[string]any{"name": name, "model": "standalone", "connected": true, "leader": true,
			"schema": string(e.schemaJS)}
		if err := srv.PutInternal("Database", ovsdb.NewUUID(), row); err != nil {
			s.closeStorage()
			return nil, fmt.Errorf("_Server row for %s: %w", name, err)
		}
	}
	for _, r := range opts.Remotes {
		if err := s.AddRemote(r); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) addDB(db *ovsdb.Database) *dbEntry {
	// Serialise the schema with sorted members, as ovsdb-server does.
	js := db.Schema.AppendJSON(nil)
	if v, err := ovsdb.ParseJSON(js); err == nil {
		js = []byte(ovsdb.JSONString(v))
	}
	e := &dbEntry{db: db, schemaJS: js}
	s.dbs[db.Name()] = e
	s.dbNames = append(s.dbNames, db.Name())
	db.OnCommit(func(cm *ovsdb.Commit) { s.dispatch(e, cm) })
	return e
}

// removeMonitor drops sm; the caller holds the database write lock.
func (e *dbEntry) removeMonitor(sm *sessionMonitor) {
	for i, m := range e.monitors {
		if m == sm {
			e.monitors = append(e.monitors[:i], e.monitors[i+1:]...)
			return
		}
	}
}

// openDB loads the database file (creating it when missing) or builds an
// in-memory database.
func (s *Server) openDB(schemaJSON []byte) (*ovsdb.Database, error) {
	if s.opts.DBPath == "" {
		schema, err := ovsdb.ParseSchema(schemaJSON)
		if err != nil {
			return nil, fmt.Errorf("parse schema: %w", err)
		}
		return ovsdb.NewDatabase(schema), nil
	}
	var l *storage.Log
	var err error
	if _, statErr := os.Stat(s.opts.DBPath); errors.Is(statErr, os.ErrNotExist) {
		l, err = storage.Create(s.opts.DBPath, schemaJSON, storage.Options{Logger: s.log})
	} else {
		l, err = storage.Open(s.opts.DBPath, storage.Options{Logger: s.log})
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	schema, err := ovsdb.ParseSchema(l.Schema())
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("parse schema in %s: %w", s.opts.DBPath, err)
	}
	db := ovsdb.NewDatabase(schema)
	db.Lock()
	for i, rec := range l.Records() {
		t, err := storage.ParseTxn(rec)
		if err == nil {
			err = db.ReplayLocked(t.Tables, t.IsDiff)
		}
		if err != nil {
			db.Unlock()
			l.Close()
			return nil, fmt.Errorf("%s: record %d: %w", s.opts.DBPath, i+1, err)
		}
	}
	db.RebuildLocked()
	db.Unlock()
	if !s.opts.KeepSchema {
		want, err := ovsdb.ParseSchema(schemaJSON)
		if err == nil && want.Name == schema.Name && want.Version != schema.Version {
			db.RLock()
			nd, cerr := db.ConvertLocked(want)
			var snap map[string]map[string]json.RawMessage
			if cerr == nil {
				nd.RLock()
				snap = nd.SnapshotLocked()
				nd.RUnlock()
			}
			db.RUnlock()
			if cerr == nil {
				cerr = l.Compact(schemaJSON, snap)
			}
			if cerr != nil {
				l.Close()
				return nil, fmt.Errorf("convert %s from schema %s to %s: %w", s.opts.DBPath, schema.Version, want.Version, cerr)
			}
			s.log.Info("ovsdb: converted database", "path", s.opts.DBPath, "from", schema.Version, "to", want.Version)
			db = nd
		}
	}
	s.storage = l
	db.SetLog(logAdapter{l})
	return db, nil
}

type logAdapter struct{ l *storage.Log }

func (a logAdapter) Append(rec []byte) func(bool) error {
	if err := a.l.AppendCompactRecord(rec); err != nil {
		return func(bool) error { return err }
	}
	return a.wait
}

func (a logAdapter) wait(sync bool) error {
	if sync {
		return a.l.Commit()
	}
	return a.l.Write()
}

// afterCommit runs after a durable commit: automatic compaction.
func (s *Server) afterCommit() {
	if !s.compactMu.TryLock() {
		return // compacting (or closing) right now
	}
	due := s.storage != nil && !s.compactOn.Load() && s.storage.ShouldCompact(time.Now())
	s.compactMu.Unlock()
	if !due {
		return
	}
	if s.compactOn.CompareAndSwap(false, true) {
		go func() {
			defer s.compactOn.Store(false)
			if err := s.Compact(); err != nil {
				s.log.Warn("ovsdb: automatic compaction", "err", err)
			}
		}()
	}
}

// Compact rewrites the database file as the schema plus one snapshot
// record. It is a no-op for an in-memory database.
func (s *Server) Compact() error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	if s.storage == nil {
		return nil
	}
	db := s.main.db
	db.RLock() // no commit (hence no Append) runs while the snapshot is written
	defer db.RUnlock()
	return s.storage.Compact(s.main.schemaJS, db.SnapshotLocked())
}

// Database returns the hosted database called name, or nil.
func (s *Server) Database(name string) *ovsdb.Database {
	if e := s.dbs[name]; e != nil {
		return e.db
	}
	return nil
}

// ListDBs returns the names of the hosted databases (including _Server).
func (s *Server) ListDBs() []string { return append([]string(nil), s.dbNames...) }

// ServerID returns the id get_server_id reports.
func (s *Server) ServerID() ovsdb.UUID { return s.serverID }

// Serve blocks until ctx is done or Close is called, then closes the server.
func (s *Server) Serve(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return s.Close()
}

// Done is closed when the server is closed.
func (s *Server) Done() <-chan struct{} { return s.done }

// Close stops listening, disconnects every client, waits for the server's
// goroutines and closes the database file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for _, r := range s.remotes {
		r.close()
	}
	for sess := range s.sessions {
		sess.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.closeStorage()
}

func (s *Server) closeStorage() error {
	if s.storage == nil {
		return nil
	}
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	err := s.storage.Close()
	s.storage = nil
	return err
}
