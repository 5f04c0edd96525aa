// Package unixctl owns the Open vSwitch "unixctl" control protocol: a server
// that answers ovs-appctl (and gvs-appctl) on <rundir>/<program>.<pid>.ctl,
// and the matching client.
//
// The wire is OVS JSON-RPC 1.0 (package jsonrpc): a request
// {"method":"<command>","params":["arg",...],"id":N} is answered with a JSON
// string result or a JSON string error. Commands are registered with
// Register; the built-ins list-commands, version, vlog/*, coverage/show and
// memory/show are registered by NewServer.
//
// Goroutines: Serve runs one accept loop and one goroutine per connection;
// each connection handles one request at a time, as OVS does. Handlers may be
// called concurrently from different connections and must be safe for that.
//
// unixctl imports jsonrpc and nothing else from the module.
package unixctl
