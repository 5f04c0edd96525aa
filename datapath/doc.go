// Package datapath is gvswitch's userspace datapath, the counterpart of Open
// vSwitch's dpif-netdev. It owns ports (netdev.Port providers attached under
// a datapath port number), flow key extraction, the exact-match cache (EMC),
// the megaflow classifier, action execution, upcalls to the slow path, flow
// statistics, dumps in dpctl/dump-flows format and revalidation hooks.
//
// It must not import ofproto or ovsdb: the vswitchd layer registers an
// UpcallHandler and drives the datapath through the Datapath methods.
//
// # Goroutines
//
// Every port gets one poll goroutine ("PMD", pmd.go), locked to its OS
// thread, which loops: Recv a batch, Extract each packet's FlowKey, look it
// up in the PMD's own EMC (no locks), then in the megaflow classifier of the
// packet's in_port (lock-free reads), group hits per flow and execute each
// flow's actions once per batch, then call the UpcallHandler synchronously
// for misses and install the returned megaflow. Outputs are gathered in one
// tx batch per output port and sent once per input batch.
//
// Writers of the flow tables are the upcall path (inside PMDs), FlowPut,
// FlowDel, FlowFlush, Revalidate and the idle sweeper; they serialise on one
// mutex per classifier and publish with atomic pointer stores, so readers
// never wait. A deleted flow is flagged dead, which invalidates every EMC
// entry that points at it.
//
// No channel operation, lock or allocation happens per packet on the hit
// path; benchmarks and AllocsPerRun tests in the _test files back this.
//
// # Caches
//
// The classifier (classifier.go) keeps one subtable per megaflow mask and is
// looked up a whole batch at a time, so cache misses of different packets
// overlap. The EMC (emc.go) is consulted only when it can pay: with one mask
// a classifier lookup costs as much as an EMC probe, and when the EMC's hit
// rate drops (more flows than entries) its probes are sampled instead of
// made for every packet (pmd.go, emcPolicy). Subtables are re-ranked by hits
// every second.
//
// # Offloads
//
// Frames keep their virtio-net metadata (packet.Offload) through the
// pipeline; VLAN push and pop adjust its offsets. When an output port cannot
// take a checksum-partial or GSO frame (its netdev.Port reports
// offload.Caps), the executor finishes the checksum or segments the frame in
// software with datapath/offload before queueing it.
//
// # Files
//
// flow.go (FlowKey, Mask, hashing), extract.go (Extract), emc.go,
// classifier.go, flows.go (install, delete, dump, revalidate, idle sweep),
// pmd.go (poll loop), upcall.go, actions.go (Action, execution, tx batches),
// stats.go, dump.go (dpctl/dump-flows and dpif/show text), datapath.go
// (Datapath, ports, Execute), policer.go (ingress policing), tunnel.go
// (tunnel encapsulation from a header template).
package datapath
