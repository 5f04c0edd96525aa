// Package server owns the OVSDB JSON-RPC server: RFC 7047 methods plus the
// Open vSwitch 3.1 extensions (monitor_cond, monitor_cond_change,
// monitor_cond_since, get_server_id, set_db_change_aware, the _Server
// database), locks, parked "wait" transactions (triggers), remotes
// (passive punix, ptcp, pssl; active unix, tcp, ssl with reconnect; and
// db: remotes read from the database), persistence through ovsdb/storage
// (group commit, conversion of older files on open, compaction).
//
// Durability is ovsdb-server's: every commit is written to the database
// file before its reply (it survives the server being killed), and a
// transaction whose "commit" operation says "durable": true is also synced
// (fdatasync) before its reply (it survives the machine crashing).
// Concurrent commits share one write and one sync.
//
// Goroutines: every listener has an accept goroutine and every active
// remote a connect loop; every session has a
// reader goroutine, which handles requests in order, and a writer goroutine,
// which drains the session's bounded output queue (a session whose queue
// overflows is disconnected, so a slow client never blocks commits). TCP and
// SSL sessions also get an inactivity-probe goroutine. A parked transaction
// runs in its own goroutine until it completes, is cancelled or its session
// closes. Monitor updates are encoded in the commit hook, with the database
// write lock held, once per distinct monitor spec and id, and the same bytes
// are queued to each session; the committing client's goroutine then writes
// them to the sockets with non-blocking writes and no database lock held (a
// client still busy with earlier updates gets several in one write), before
// its reply, so a client sees the updates caused by its own transaction
// before the reply, and other monitors have them when it arrives.
//
// Sockets: a unix or TCP session's socket is taken out of Go's network
// poller (which also watches for room to write, so every client reading
// an update would wake an idle thread of ours) into an epoll instance of
// its own that watches for input only and that Go's poller waits on. Reads
// and the fan-out's writes on it are raw non-blocking system calls, which
// keep the scheduler's syscall bookkeeping and its monitor thread out of
// every commit; only a backlogged client's writer goroutine waits for room,
// in poll(2). TLS sessions use Go's net.Conn.
//
// It uses package jsonrpc for framing and must not import anything from the
// switch (datapath, ofproto).
package server
