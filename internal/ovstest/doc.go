// Package ovstest runs Debian's real Open vSwitch tools privately for
// interoperability tests: a private ovsdb-server in a temporary directory
// (StartOVSDBServer), the clients ovs-vsctl, ovsdb-client, ovsdb-tool,
// ovs-appctl and ovs-ofctl with a per-command timeout (Run, Vsctl,
// OvsdbClient, OvsdbTool, Appctl), and a stand-in for ovs-vswitchd that
// acknowledges configuration changes (CurCfgBumper) so that ovs-vsctl
// without --no-wait returns.
//
// Nothing here touches the standard Open vSwitch paths: every process gets
// OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR and OVS_SYSCONFDIR pointing at its
// server's temporary directory, and every path is passed explicitly. The
// ovsdb-server is a child process in the foreground (never --detach), stopped
// and reaped in t.Cleanup; with Pdeathsig it also dies with a killed test
// binary.
//
// When a tool is missing, tests skip with the reason (fail with CI=true),
// following internal/testutil. A client that hangs is killed after
// DefaultTimeout and fails the test.
//
// ovstest is imported only from _test.go files; it imports internal/testutil
// and nothing else from the module. The only goroutines it starts belong to
// a running Server or CurCfgBumper and end in their cleanup.
package ovstest
