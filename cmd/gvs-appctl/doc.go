// Command gvs-appctl is an ovs-appctl-compatible client for the unixctl
// control sockets of gvswitchd (and of real Open vSwitch daemons): the same
// options (-t/--target, -T/--timeout), the same target resolution through
// <rundir>/<target>.pid (with OVS's pidfile lock check), the same output and
// exit codes (0 success, 1 cannot connect, 2 server error).
//
// It is flags and wiring only: the protocol is package unixctl, paths and
// pidfiles are internal/daemon.
package main
