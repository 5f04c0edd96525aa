package storage

import "errors"

// Errors returned by Open, Create and the methods of Log, wrapped with
// context (match them with errors.Is).
var (
	// ErrCorrupt: Open found a damaged record that is not a torn last
	// record, or a record that is not valid JSON.
	ErrCorrupt = errors.New("corrupt ovsdb log")
	// ErrClustered: Open found a clustered (Raft) database, which this
	// package does not read.
	ErrClustered = errors.New("clustered ovsdb log not supported")
	// ErrLocked: Open or Create found the lock file held by another
	// process (or by another Log in this process).
	ErrLocked = errors.New("ovsdb log locked")
	// ErrClosed: a method of Log was called after Close.
	ErrClosed = errors.New("ovsdb log closed")
	// ErrBroken: an earlier write or sync failed; the Log accepts no more
	// records. Close it and open the file again, which drops a torn tail.
	ErrBroken = errors.New("ovsdb log broken by an earlier write error")
)
