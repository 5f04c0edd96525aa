// Package ovsdb owns the OVSDB data model and transaction engine of the
// embedded database server: schemas (RFC 7047 section 3.2 plus Open vSwitch's
// extensions), atoms and datums in canonical sorted form, conditions,
// mutations, transactions with named-uuid forward references, referential
// integrity, garbage collection of unreferenced non-root rows, weak
// references, index and maxRows checks, and the change sets that monitors
// (update, update2, update3) and storage records are built from.
//
// The JSON-RPC server lives in ovsdb/server, the on-disk log in ovsdb/storage
// and the embedded Open_vSwitch schema in ovsdb/vswitch. This package must not
// import anything from the switch (datapath, ofproto).
//
// Concurrency: a Database is guarded by one RWMutex. Transactions that only
// read run under the read lock and do not block each other; a transaction
// that writes holds the write lock while it executes and commits, so commits
// are serialised and each commit is atomic. Rows are immutable once committed
// (copy on write), so a committed *Row may be read without the lock.
package ovsdb
