// Package testutil holds helpers shared by gvswitch tests: honest skips for
// missing privileges or tools (Require, RequireRoot, RequireCap,
// RequireBinary, SkipIfNotSupported), network-namespace test hosts joined by
// veth pairs (NewNetNS, NewHosts, NewVethPair), raw AF_PACKET sockets to
// inject and capture frames built with internal/pkttest (OpenRawSocket),
// polling for readiness (Eventually, EventuallyOK, NetNS.WaitOperUp) and
// goroutine/fd leak checks for TestMain (VerifyNoLeaks).
//
// TestBaselineLinuxBridge (baseline_linux_test.go) is the harness's
// acceptance test and the model for switch tests: two NewHosts hosts joined
// by a Linux bridge ping each other both ways; a gvswitch test attaches
// Host.SwitchIf to the switch instead.
//
// Skip rule: when a privilege, kernel feature or binary is missing a test is
// skipped with a reason naming what is missing, except when the environment
// variable CI is "true", where the same condition fails the test instead.
//
// Everything a helper creates (namespaces, links, processes) is removed in
// t.Cleanup, which also runs when the test fails or panics. Namespace names
// carry the creating process id, so namespaces left behind by a killed test
// binary are removed by the next NewNetNS call.
//
// testutil is imported only from _test.go files. It imports
// datapath/netdev (for ErrNotSupported) and nothing else from the module.
// It starts no goroutines that outlive the call that started them.
package testutil
