// Package jsonrpc owns JSON-RPC 1.0 framing exactly as Open vSwitch speaks it
// on OVSDB and unixctl sockets: bare JSON objects back to back with no
// delimiter, four message kinds told apart by their members, and any other
// member a protocol error that ends the session.
//
// A Conn reads whole messages with a bounded, allocation-light framer (it
// finds the end of each object itself, so a huge or endless message is cut
// off at MaxMessageSize instead of exhausting memory) and writes messages
// atomically, so several goroutines may send on one Conn.
//
// Ids, params and results stay json.RawMessage: OVSDB integers are signed
// 64-bit and must never round-trip through float64, and a reply echoes its
// request's id verbatim.
//
// This package imports nothing from the switch; ovsdb, unixctl, gvsctl and
// gvs-appctl use it.
package jsonrpc
