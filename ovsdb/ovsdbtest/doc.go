// Package ovsdbtest runs an in-process OVSDB server (package ovsdb/server)
// on a temporary unix socket for other packages' tests. Import it only from
// _test.go files.
package ovsdbtest
