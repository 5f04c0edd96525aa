// Package ofproto is the vswitchd layer of gvswitch (OVS's vswitchd/bridge.c
// and ofproto-dpif's unixctl side). It is an ordinary OVSDB client: it takes
// the ovs_vswitchd lock, monitors Open_vSwitch, Bridge, Port and Interface,
// turns the rows into plain Spec values (BuildSpec, testable without
// sockets), reconciles them into one datapath shared by all bridges
// (reconcile.go: delete before add, ofport allocation with ofport_request,
// per-interface errors that never stop the rest), and writes back, in one
// transaction per pass, every Interface ofport and error plus
// Open_vSwitch.cur_cfg = next_cfg — the handshake ovs-vsctl and libvirt wait
// for. Kernel link state, statistics and datapath_id go in separate status
// transactions. It publishes an immutable ofproto/xlate snapshot for the
// upcall path and registers the OVS appctl commands (appctl.go).
//
// The database client (db.go) is a narrow one of our own over package
// jsonrpc rather than libovsdb's: it needs the lock and "assert" op, monitor
// v1 "old" columns to tell configuration changes from the echo of its own
// writes, and a replica of four tables without a typed cache. DB is the
// interface the rest of the package uses, so another client can replace it.
//
// Goroutines: Run is the single main loop (reconcile, status, statistics,
// MAC aging); the DB session has one reader goroutine; the netlink link
// monitor has one goroutine calling back into the Vswitch; a pass that
// detaches system devices closes them on a goroutine of its own (their close
// waits for RCU grace periods, which cur_cfg need not). Shared state is
// guarded by Vswitch.mu; appctl handlers take it briefly. New ports' poll
// goroutines start after the pass's cur_cfg transaction.
//
// ofproto imports datapath, datapath/netdev, ofproto/xlate, jsonrpc and
// unixctl; never the ovsdb server package (it talks to any RFC 7047 server
// over a socket) and never sockets/rings of netdev providers (an Opener is
// injected by cmd/gvswitchd).
package ofproto
