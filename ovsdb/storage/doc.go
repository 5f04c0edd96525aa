// Package storage owns the on-disk format of a standalone OVSDB database, as
// Open vSwitch 3.1 writes it (ovsdb(5)), so that Debian's ovsdb-tool and
// ovsdb-server read the files gvswitch writes and the other way round.
//
// It owns three things:
//
//   - The record framing: "OVSDB JSON <length> <sha1>\n" followed by exactly
//     <length> bytes of compact JSON and a line feed, both counted by the
//     length and covered by the SHA-1. Record 0 is the schema, every later
//     record one committed transaction (see Txn). Open verifies every record.
//     A damaged tail with no intact record after it (a crash in the middle of
//     an append) is cut off with a warning; a damaged record followed by an
//     intact one is an error wrapping ErrCorrupt.
//   - Locking: a Log holds a POSIX fcntl write lock (an open file description
//     lock) on "<dir>/.<file>.~lock~", the lock file Open vSwitch uses, from
//     Open or Create until Close, so ovsdb-tool and ovsdb-server refuse the
//     file while gvswitch has it, and the other way round.
//   - Compaction: Compact replaces the file with the schema and one snapshot
//     record through "<file>.tmp" and a rename; ShouldCompact tells when Open
//     vSwitch's automatic compaction rule says it is time.
//
// The package is record-level and schema-agnostic: rows and values stay
// json.RawMessage. The ovsdb server decides what a transaction means; this
// package only stores it. JSON it writes uses Open vSwitch's exact compact
// form (no HTML escaping, OVS's string escapes), so records it writes are
// byte for byte what ovsdb-server would write for the same members in the
// same order.
//
// ReadFile reads a database without locking or changing it, as ovsdb-tool's
// read-only commands do.
//
// Durability uses group commit: Append and AppendTxn only queue a record in
// memory; Commit writes everything queued so far and syncs the file once, and
// concurrent Commit calls share one fdatasync. Write writes without syncing
// (what ovsdb-server does for a transaction that does not ask to be
// durable): the records survive a killed process, not a machine crash. A Log is safe for use by
// several goroutines and starts no goroutines of its own.
//
// storage must not import anything from the switch (ovsdb core types,
// ofproto, datapath); it imports only the standard library and
// golang.org/x/sys/unix.
package storage
