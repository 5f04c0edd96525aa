// Package nettest holds the privileged test fixtures shared by the netdev
// providers' tests: named network namespaces, veth pairs, addresses and raw
// AF_PACKET sockets inside a namespace. Everything it creates has a random
// suffix and is removed with t.Cleanup.
//
// A test that lacks root skips with the reason, unless CI=true, where it
// fails. It is a test-only package: nothing outside _test.go files imports it.
package nettest
