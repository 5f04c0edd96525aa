// Package vsctl implements gvsctl, a drop-in replacement for Open vSwitch's
// ovs-vsctl 3.1: the same commands, options, output, error messages and
// exit statuses (including death by SIGALRM on --timeout expiry).
//
// It owns a small schema-driven OVSDB client (idl.go) speaking RFC 7047
// through package jsonrpc: the embedded Open_vSwitch schema (get_schema
// only when the server rejects the monitor request), one monitor_cond_since
// (falling back to monitor_cond, then monitor) of just the tables and
// columns the commands need, an in-memory replica, and one transact with
// "wait" verifies of every column it changes, the inserts, updates and
// root-table deletes, the next_cfg increment and select, and a comment.
// Unless --no-wait is given it then waits for an update that brings cur_cfg
// up to next_cfg, and reports interfaces that came up without an ofport.
// A failed verify reruns the commands after the next database change.
//
// Output is byte-exact with ovs-vsctl's, including the order of rows in
// list/find: hashorder.go models the hash-table iteration order ovs-vsctl
// lists rows in, which depends on their UUIDs and on the order the server
// sends them in.
//
// Files: options.go (command line), commands*.go (the commands), lookup.go
// (tables, columns, record names), parse.go (values typed on the command
// line), datum.go (values and their renderings), format.go (list, table,
// csv, html, json), show.go, ctx.go (per-invocation state and the
// bridge/port/interface cache), txn.go (transaction), run.go (main loop).
// commands.txt and options.txt are the machine-readable command and option
// lists ovs-vsctl prints for --commands and --options (bash completion reads
// them). help.txt is gvsctl's own help in ovs-vsctl's layout: the same
// commands and options, described in our words, since Open vSwitch's prose
// is not ours to copy; it is the one output that is not byte-identical.
//
// Everything runs on the calling goroutine except the connection reader,
// which only forwards messages on a channel, and the --timeout timer. The
// package imports jsonrpc and ovsdb/vswitch (the schema) and nothing else
// from the switch.
package vsctl
