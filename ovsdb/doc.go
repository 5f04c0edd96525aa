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
//
// Cost of a big transaction (a 1000-port ovs-vsctl call is 300 KB of JSON
// and 2000 inserts): ParseJSON shares equal member names and equal short
// string and number values within one large message and cuts arrays from
// one slab, so decoding allocates little beyond the objects themselves. A
// transaction keeps the rows it changed in the order it first touched them
// as *rowChange (slab-allocated), so each commit pass (reference counts,
// garbage collection, weak references, indexes, apply) walks that list
// without a map lookup per row; inserts and deletes count their references
// without a per-column map, and a modified set of references is diffed by
// walking the old and new sorted keys together.
//
// Large columns changed a few elements at a time (a key into a bridge's
// external_ids, a port into its ports) are not copied whole per mutate: a
// datum of 256 or more elements keeps them in chunks that its versions
// share (bigdatum.go), and Diff, Equal and the reference count walk skip the
// shared chunks, so a commit's update2 "modify", log record and checks cost
// what changed rather than the column's size.
package ovsdb
