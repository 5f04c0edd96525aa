// Package bench owns gvswitch's end-to-end benchmark harness: it builds identical
// topologies of network-namespace hosts on veths around each system under test
// (gvswitchd, the Linux bridge, Debian's Open vSwitch 3.1 userspace datapath, and a
// direct veth pair as the generator's ceiling), drives iperf3, trafgen, an in-process
// UDP request/response probe and ovs-vsctl against them, and writes the results as
// Markdown, JSON and PNG plots.
//
// Everything it creates lives in namespaces named "gvsb-<pid>-..." and private
// temporary directories; Run tears them down on success, error and cancellation, and
// sweeps what an earlier, killed run left behind (by the dead run's pid only).
//
// Goroutines: Run is sequential; the latency probe runs one echo goroutine per
// measurement and waits for it. Sockets are opened inside a namespace on a locked
// OS thread (setns) and then used from any goroutine.
//
// It imports nothing from the switch itself: the systems under test are separate
// processes, driven through their command-line tools. Package bench is for
// end-to-end runs only; micro-benchmarks sit next to the code they measure.
package bench
