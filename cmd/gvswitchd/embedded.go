package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/gvswitch/gvswitch/internal/daemon"
	"github.com/gvswitch/gvswitch/ovsdb/server"
	"github.com/gvswitch/gvswitch/unixctl"
)

// startEmbedded starts the embedded OVSDB server on $OVS_DBDIR/conf.db and
// $OVS_RUNDIR/db.sock (or the --db-file/--db-sock paths), with the
// ovsdb-server pidfile, control socket and commands, and returns the remote
// the vswitchd layer connects to.
func startEmbedded(ctx context.Context, c *config, log *daemon.Log, exit func(), down *shutdown) (string, error) {
	if err := daemon.MkdirAll(daemon.DBDir()); err != nil {
		return "", err
	}
	dbPath := absIn(daemon.DBDir(), c.dbFile, "conf.db")
	sock := absIn(daemon.RunDir(), c.dbSock, "db.sock")
	pidPath, ctlPath := "", ""
	remotes := []string{"punix:" + sock}
	if c.program == progOVSDB {
		// As ovsdb-server: its pidfile and control socket options, and
		// only the remotes it was given.
		pidPath, ctlPath, remotes = c.pidPath, c.unixctl, nil
	}
	remotes = append(remotes, c.remotes...)
	ctl, err := controlServer("ovsdb-server", pidPath, ctlPath, log, unixctl.NewCoverage(), down)
	if err != nil {
		return "", err
	}
	srv, err := server.New(server.Options{
		DBPath:      dbPath,
		Remotes:     remotes,
		PrivateKey:  c.privateKey,
		Certificate: c.cert,
		CACert:      c.caCert,
		Logger:      log.Logger("ovsdb"),
	})
	if err != nil {
		return "", fmt.Errorf("ovsdb server: %w", err)
	}
	down.add(func() { _ = srv.Close() })
	go func() {
		_ = srv.Serve(ctx)
		exit() // the server closed (e.g. its "exit" command): stop everything
	}()
	registerOVSDBCommands(ctl, srv, exit)
	ctl.RegisterMemory()
	return "unix:" + sock, nil
}

// ovsdbServer is what the ovsdb-server/* commands need.
type ovsdbServer interface {
	AddRemote(name string) error
	RemoveRemote(name string) error
	ListRemotes() []string
	ListDBs() []string
	Compact() error
}

func lines(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.Join(ss, "\n") + "\n"
}

func registerOVSDBCommands(ctl *unixctl.Server, srv ovsdbServer, exit func()) {
	ctl.Register("exit", "", 0, 0, func([]string) (string, error) {
		go exit()
		return "", nil
	})
	ctl.Register("ovsdb-server/compact", "", 0, 1, func([]string) (string, error) {
		return "", srv.Compact()
	})
	ctl.Register("ovsdb-server/add-remote", "REMOTE", 1, 1, func(a []string) (string, error) {
		return "", srv.AddRemote(a[0])
	})
	ctl.Register("ovsdb-server/remove-remote", "REMOTE", 1, 1, func(a []string) (string, error) {
		if err := srv.RemoveRemote(a[0]); err != nil {
			return "", fmt.Errorf("%s: no such remote", a[0])
		}
		return "", nil
	})
	ctl.Register("ovsdb-server/list-remotes", "", 0, 0, func([]string) (string, error) {
		return lines(srv.ListRemotes()), nil
	})
	ctl.Register("ovsdb-server/list-dbs", "", 0, 0, func([]string) (string, error) {
		return lines(srv.ListDBs()), nil
	})
}
