// Command gvswitchd is gvswitch's Open vSwitch-compatible daemon. By default
// it runs three layers in one process: the embedded OVSDB server (database
// $OVS_DBDIR/conf.db, socket $OVS_RUNDIR/db.sock, both created when missing;
// pidfile ovsdb-server.pid and control socket ovsdb-server.<pid>.ctl, so that
// "ovs-appctl -t ovsdb-server" works), the vswitchd layer (package ofproto;
// ovs-vswitchd.pid and ovs-vswitchd.<pid>.ctl) and the userspace datapath.
//
//	gvswitchd [--db=unix:PATH|tcp:IP:PORT] [--no-vswitchd] [--remote=REMOTE]...
//	          [--pidfile[=FILE]] [--log-file[=FILE]] [--detach] [-vSPEC]...
//
// --db (or a bare unix:/tcp: argument, as ovs-vswitchd takes it) uses an
// external OVSDB server instead of the embedded one, for example Debian's
// ovsdb-server; --no-vswitchd serves only the database.
//
// Started through a symlink named ovsdb-server or ovs-vswitchd, it behaves as
// that one daemon and accepts the arguments Debian's ovs-ctl passes
// (ovsdb-server DB --remote=... --private-key=db:... --pidfile=... --detach;
// ovs-vswitchd unix:SOCK --mlockall --pidfile=... --detach --monitor), and
// /proc/PID/comm carries the name ovs-ctl checks.
//
// It is flags and wiring only; see ofproto, datapath, ovsdb/server, unixctl
// and internal/daemon for the behaviour.
package main
