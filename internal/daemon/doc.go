// Package daemon owns what makes a gvswitch program behave like an Open
// vSwitch daemon: the OVS directories (OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR,
// OVS_SYSCONFDIR and their compiled-in defaults), pidfiles written and
// locked exactly as OVS does (so ovs-appctl accepts them), --detach,
// SIGTERM/SIGHUP handling, and vlog-style logging on top of log/slog
// (modules, per-destination levels, vlog/* commands via unixctl.VLog).
//
// A pidfile's POSIX lock is per process and is dropped when the process
// closes any descriptor of that file, so code in the daemon's own process must
// never open its pidfile (use the Pidfile value instead).
//
// daemon imports nothing from the module; *Log satisfies unixctl.VLog
// structurally. Its only goroutine is the signal watcher started by
// HandleSignals, which ends when the returned stop function is called.
package daemon
