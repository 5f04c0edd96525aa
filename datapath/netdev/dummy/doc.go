// Package dummy is an in-memory netdev.Port for tests and benchmarks, like
// Open vSwitch's netdev-dummy: frames injected with Inject come out of Recv,
// frames given to Send are counted and (optionally) captured. It needs no
// privileges and knows nothing of flows.
package dummy
