// Package dummy is an in-memory netdev.Port for tests and benchmarks, like
// Open vSwitch's netdev-dummy: frames injected with Inject come out of Recv,
// frames given to Send are counted and (optionally) captured for Sent,
// TakeSent and WaitSent. SetRepeat turns a port into an endless traffic
// source for load tests (full batches, no allocation). It needs no
// privileges and knows nothing of flows.
//
// Recv copies each frame into one of the port's BatchSize buffers, with
// packet.Headroom bytes in front, and waits at most 20 ms for frames, as
// the netdev.Port contract asks.
package dummy
