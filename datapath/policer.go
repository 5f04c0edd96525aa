package datapath

import (
	"fmt"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Ingress policing, as the Interface columns ingress_policing_rate/burst
// and ingress_policing_kpkts_rate/burst ask for (libvirt sets them for a
// guest's outbound bandwidth): a token bucket per port, run by the port's
// poll goroutine on each received batch before anything else, dropping the
// packets that exceed it. The bucket is owned by that goroutine, so it
// needs no atomics; only the configuration is published atomically.

// Policing defaults when a burst is 0, as Open vSwitch documents them.
const (
	DefaultPolicingBurstKb    = 8000
	DefaultPolicingBurstKpkts = 16
)

// Policing configures a port's ingress policer. A zero rate turns that
// policer off; a zero burst means the default. Both may be on: a packet
// then needs tokens from both.
type Policing struct {
	RateKbps   uint64 // ingress_policing_rate, kilobits per second
	BurstKb    uint64 // ingress_policing_burst, kilobits
	RateKpps   uint64 // ingress_policing_kpkts_rate, thousands of packets per second
	BurstKpkts uint64 // ingress_policing_kpkts_burst, thousands of packets
}

// SetIngressPolicing configures port no's ingress policer; the zero
// Policing turns it off. The port's poll goroutine applies it from its next
// batch, starting with a full bucket. Errors wrap ErrNoSuchPort.
func (dp *Datapath) SetIngressPolicing(no uint32, pol Policing) error {
	p := dp.ports.Load().get(no)
	if p == nil {
		return fmt.Errorf("set ingress policing on port %d: %w", no, ErrNoSuchPort)
	}
	if pol.RateKbps == 0 && pol.RateKpps == 0 {
		p.pmd.policing.Store(nil)
		return nil
	}
	if pol.BurstKb == 0 {
		pol.BurstKb = DefaultPolicingBurstKb
	}
	if pol.BurstKpkts == 0 {
		pol.BurstKpkts = DefaultPolicingBurstKpkts
	}
	p.pmd.policing.Store(&pol)
	return nil
}

// policer is a poll goroutine's token buckets.
type policer struct {
	cfg        *Policing // the configuration the buckets were set up for
	bits, pkts float64   // tokens
	last       int64     // Unix ns of the last refill
}

// police refills the buckets for the time since the last batch and drops,
// in place, the packets of b that find no tokens. It returns how many it
// dropped.
func (p *pmd) police(b *packet.Batch, cfg *Policing, now int64) int {
	pl := &p.pol
	if pl.cfg != cfg {
		*pl = policer{cfg: cfg, bits: float64(cfg.BurstKb) * 1000, pkts: float64(cfg.BurstKpkts) * 1000, last: now}
	}
	if dt := float64(now-pl.last) / 1e9; dt > 0 {
		pl.bits = min(pl.bits+dt*float64(cfg.RateKbps)*1000, float64(cfg.BurstKb)*1000)
		pl.pkts = min(pl.pkts+dt*float64(cfg.RateKpps)*1000, float64(cfg.BurstKpkts)*1000)
		pl.last = now
	}
	kept := 0
	for i := 0; i < b.N; i++ {
		pkt := b.Pkts[i]
		size := float64(pkt.Len()) * 8
		if (cfg.RateKbps != 0 && pl.bits < size) || (cfg.RateKpps != 0 && pl.pkts < 1) {
			continue
		}
		if cfg.RateKbps != 0 {
			pl.bits -= size
		}
		if cfg.RateKpps != 0 {
			pl.pkts--
		}
		b.Pkts[kept] = pkt
		kept++
	}
	dropped := b.N - kept
	b.N = kept
	return dropped
}
