// Command gvswitchd is gvswitch's Open vSwitch-compatible daemon. By default
// it runs three layers in one process: the embedded OVSDB server (database
// $OVS_DBDIR/conf.db, socket $OVS_RUNDIR/db.sock, control socket and pidfile
// named like ovsdb-server's), the vswitchd layer (package ofproto, control
// socket and pidfile named like ovs-vswitchd's) and the userspace datapath.
// --db=unix:PATH (or tcp:) uses an external OVSDB server instead, and
// --no-vswitchd serves only the database.
//
// It is flags and wiring only; see ofproto, datapath, unixctl and
// internal/daemon for the behaviour.
package main
