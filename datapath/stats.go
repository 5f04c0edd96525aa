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
	// Created is when the flow was installed.
	Created time.Time
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
	}
	if n := dp.nflows.Load(); n > 0 {
		s.Flows = uint64(n)
	}
	for _, c := range dp.classifiers() {
		s.Masks += uint64(c.masks())
	}
	return s
}
