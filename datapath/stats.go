package datapath

import "time"

// Stats are the datapath-wide counters (dpif/show, dpctl/show).
type Stats struct {
	// Hit counts packets that matched an installed flow (EMC or megaflow).
	Hit uint64
	// Missed counts packets that missed every cache and went to the
	// upcall handler.
	Missed uint64
	// Lost counts missed packets dropped without an answer: no handler,
	// handler error.
	Lost uint64
	// Flows is the number of installed megaflows.
	Flows uint64
	// EMCHits and MegaflowHits split Hit by cache level.
	EMCHits, MegaflowHits uint64
	// Masks is the number of distinct megaflow masks (classifier
	// subtables), summed over in_ports.
	Masks uint64
	// MaskHits counts subtable lookups done for megaflow hits:
	// MaskHits/MegaflowHits is the average subtables visited per hit.
	MaskHits uint64
	// FlowLimitHits counts upcalls whose flow was not installed because the
	// flow limit was reached (the packet was still forwarded).
	FlowLimitHits uint64
	// ActionDrops counts packets dropped by actions the executor could not
	// perform (unknown port, no headroom, unknown kind).
	ActionDrops uint64
	// RxErrors and TxErrors count failed Recv and Send calls.
	RxErrors, TxErrors uint64
	// PolicerDrops counts packets dropped by ingress policing (before any
	// lookup, so they count neither as hits nor as misses).
	PolicerDrops uint64
}

// FlowStats are one megaflow's counters.
type FlowStats struct {
	Packets uint64
	Bytes   uint64
	// Used is when a packet last hit the flow; zero if never.
	Used time.Time
	// TCPFlags is the OR of the TCP flags of every packet that hit it.
	TCPFlags uint16
}

// FlowEntry is one megaflow as FlowDump and Revalidate see it. Key is
// already masked by Mask.
type FlowEntry struct {
	Key     FlowKey
	Mask    Mask
	Actions Actions
	Stats   FlowStats
	// Created is when the flow was created: when the upcall whose
	// translation it holds began (FlowPut: when it was installed). A
	// change that happened before it was visible to that translation.
	Created time.Time
	// ID identifies the flow for its lifetime (installation sequence number,
	// never reused), like Open vSwitch's UFID: a flow deleted and installed
	// again gets a new ID.
	ID uint64
}

// Stats returns the datapath-wide counters.
func (dp *Datapath) Stats() Stats {
	var sum pmdCounters
	sum.add(&dp.retired)
	for _, p := range dp.ports.Load().byNo {
		if p != nil {
			sum.add(&p.pmd.ctr)
		}
	}
	s := Stats{
		Hit:           sum.hit.Load(),
		Missed:        sum.missed.Load(),
		Lost:          sum.lost.Load(),
		EMCHits:       sum.emcHits.Load(),
		MegaflowHits:  sum.mfHits.Load(),
		MaskHits:      sum.maskHits.Load(),
		FlowLimitHits: sum.limitHits.Load(),
		ActionDrops:   sum.actionDrops.Load(),
		TxErrors:      sum.txErrors.Load(),
		RxErrors:      sum.rxErrors.Load(),
		PolicerDrops:  sum.policed.Load(),
	}
	if n := dp.nflows.Load(); n > 0 {
		s.Flows = uint64(n)
	}
	for _, c := range dp.classifiers() {
		s.Masks += uint64(c.masks())
	}
	return s
}

// PMDStats are one poll goroutine's counters, as dpif-netdev/pmd-stats-show
// reports them per PMD thread. gvswitch runs one poll goroutine per port.
type PMDStats struct {
	Port   string
	PortNo uint32
	// Packets received, and batches they came in.
	Packets, Batches uint64
	EMCHits          uint64
	MegaflowHits     uint64
	// MaskHits is the number of subtables visited for megaflow hits.
	MaskHits uint64
	// UpcallOK and UpcallFailed split misses by outcome.
	UpcallOK, UpcallFailed uint64
	// Sends and SentPackets give the average output batch size.
	Sends, SentPackets uint64
	// Busy is the time spent processing batches (not waiting in Recv).
	Busy time.Duration
	// PolicerDrops counts packets dropped by ingress policing.
	PolicerDrops uint64
}

func (c *pmdCounters) pmdStats(name string, no uint32) PMDStats {
	return PMDStats{
		Port: name, PortNo: no,
		Packets: c.rxPackets.Load(), Batches: c.batches.Load(),
		EMCHits: c.emcHits.Load(), MegaflowHits: c.mfHits.Load(), MaskHits: c.maskHits.Load(),
		UpcallOK:     c.missed.Load() - c.lost.Load(),
		UpcallFailed: c.lost.Load(),
		Sends:        c.sends.Load(), SentPackets: c.sentPkts.Load(),
		Busy:         time.Duration(c.busyNs.Load()),
		PolicerDrops: c.policed.Load(),
	}
}

// PMDStats returns the counters of every port's poll goroutine, by port
// number, minus the values saved by the last ClearPMDStats.
func (dp *Datapath) PMDStats() []PMDStats {
	var out []PMDStats
	for _, p := range dp.ports.Load().byNo {
		if p == nil {
			continue
		}
		s := p.pmd.ctr.pmdStats(p.name, p.no)
		if b := p.pmd.baseline.Load(); b != nil {
			s = s.sub(b)
		}
		out = append(out, s)
	}
	return out
}

// ClearPMDStats makes PMDStats count from now on
// (dpif-netdev/pmd-stats-clear). Stats is not affected.
func (dp *Datapath) ClearPMDStats() {
	for _, p := range dp.ports.Load().byNo {
		if p != nil {
			s := p.pmd.ctr.pmdStats(p.name, p.no)
			p.pmd.baseline.Store(&s)
		}
	}
}

func (s PMDStats) sub(b *PMDStats) PMDStats {
	s.Packets -= b.Packets
	s.Batches -= b.Batches
	s.EMCHits -= b.EMCHits
	s.MegaflowHits -= b.MegaflowHits
	s.MaskHits -= b.MaskHits
	s.UpcallOK -= b.UpcallOK
	s.UpcallFailed -= b.UpcallFailed
	s.Sends -= b.Sends
	s.SentPackets -= b.SentPackets
	s.Busy -= b.Busy
	s.PolicerDrops -= b.PolicerDrops
	return s
}
