// Package deps holds no code, only tests that keep gvswitch's dependencies
// pointing down the architecture (cmd -> ofproto -> datapath -> netdev
// providers; ovsdb, jsonrpc, vlan, tunnel and mirror as lower layers or
// leaves) and that keep unsafe code in *_unsafe.go files.
//
// The rules are the table in rules_test.go; each states why it exists.
// TestImportRules runs `go list -e -deps -json ./...` from the module root
// and fails for every package whose transitive (non-test) dependencies break
// a rule, printing the import chain. Packages that do not exist yet are
// simply not checked, and packages that fail to load (the tree is edited
// concurrently) are logged, not failed: their owners' builds catch those.
package deps
