// Package vsctl implements gvsctl, a drop-in replacement for Open vSwitch's
// ovs-vsctl 3.1: the same commands, options, output and error messages, and
// the same exit statuses.
//
// It owns a small schema-driven OVSDB client (idl.go): one get_schema, one
// monitor of the whole database into an in-memory replica, the commands run
// against the replica, and the changes go to the server as one transact with
// "wait" verifies, the next_cfg increment and a comment. Unless --no-wait is
// given, it then waits for ovs-vswitchd to copy next_cfg into cur_cfg.
//
// Everything runs on the calling goroutine except the connection reader,
// which only forwards messages on a channel. The package imports jsonrpc and
// nothing else from the switch.
package vsctl
