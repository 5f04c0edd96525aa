package ovsdbtest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gvswitch/gvswitch/ovsdb/server"
)

// Options tune StartWith.
type Options struct {
	// Persistent stores the database in a file in a temporary directory
	// instead of in memory.
	Persistent bool
	// Schema overrides the embedded Open_vSwitch schema.
	Schema []byte
	// Server sets further server options (DBPath and the unix remote are
	// filled in).
	Server server.Options
}

// Start starts an in-memory server with the Open_vSwitch schema and
// returns the path of its unix socket (connect with "unix:"+sock). The
// server stops when the test ends.
func Start(t testing.TB) (sock string) {
	sock, _ = StartWith(t, Options{})
	return sock
}

// StartWith starts a server with options and returns its socket path and
// the server itself.
func StartWith(t testing.TB, o Options) (string, *server.Server) {
	t.Helper()
	// Unix socket paths are limited to 107 bytes: keep them short.
	dir, err := os.MkdirTemp("", "ovsdbtest")
	if err != nil {
		t.Fatalf("ovsdbtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "db.sock")
	opts := o.Server
	opts.Schema = o.Schema
	opts.Remotes = append([]string{"punix:" + sock}, opts.Remotes...)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Persistent {
		opts.DBPath = filepath.Join(dir, "conf.db")
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("ovsdbtest: start server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sock, srv
}
