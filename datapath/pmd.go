package datapath

import (
	"errors"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

const (
	// rankInterval is how often a poll goroutine re-sorts its classifier's
	// subtables by hits (dpcls's DPCLS_OPTIMIZATION_INTERVAL, 1 s).
	rankInterval = int64(time.Second)
	// recvErrorBackoff keeps a port that keeps failing from spinning a CPU.
	recvErrorBackoff = time.Millisecond
)

// pmdCounters are a poll goroutine's counters. The goroutine adds to them
// once per batch; Stats and PMDStats read them from other goroutines.
type pmdCounters struct {
	hit, missed, lost          atomic.Uint64
	emcHits, mfHits, maskHits  atomic.Uint64
	limitHits, actionDrops     atomic.Uint64
	rxErrors, txErrors, upcall atomic.Uint64
	rxPackets, batches         atomic.Uint64
	sends, sentPkts            atomic.Uint64
	busyNs, policed            atomic.Uint64
}

func (c *pmdCounters) fields() []*atomic.Uint64 {
	return []*atomic.Uint64{&c.hit, &c.missed, &c.lost, &c.emcHits, &c.mfHits, &c.maskHits,
		&c.limitHits, &c.actionDrops, &c.rxErrors, &c.txErrors, &c.upcall,
		&c.rxPackets, &c.batches, &c.sends, &c.sentPkts, &c.busyNs, &c.policed}
}

func (c *pmdCounters) add(o *pmdCounters) {
	of := o.fields()
	for i, f := range c.fields() {
		f.Add(of[i].Load())
	}
}

// batchCounters are the plain per-batch counts a pmd accumulates before
// publishing them with one atomic add each.
type batchCounters struct {
	emcHits, mfHits, maskHits, missed, lost, limitHits uint64
	policed                                            uint64
	rx                                                 int
}

// pmd is one port's poll loop ("poll mode driver" thread in OVS): it owns
// the port's receive side, an EMC, an executor with per-port tx batches,
// and the scratch arrays for one batch, all allocated once.
type pmd struct {
	dp   *Datapath
	no   uint32
	name string
	port netdev.Port
	cls  *classifier
	emc  emc
	x    *executor

	stop     atomic.Bool
	done     chan struct{}
	ctr      pmdCounters
	baseline atomic.Pointer[PMDStats] // ClearPMDStats
	policing atomic.Pointer[Policing] // SetIngressPolicing; nil = off
	pol      policer

	rx       packet.Batch
	keys     [packet.BatchSize]FlowKey
	hashes   [packet.BatchSize]uint32
	found    [packet.BatchSize]*flow
	one      [1]*packet.Packet
	bc       batchCounters
	lastRank int64

	// EMC policy state; see emcPolicy.
	useEMC  bool
	emcOn   bool
	batches uint32
	emcWin  struct{ lookups, hits uint32 }

	// Per-flow groups of the current batch, in order of first packet.
	ngroups int
	gflow   [packet.BatchSize]*flow
	gflags  [packet.BatchSize]uint16
	gn      [packet.BatchSize]int
	gpkts   [packet.BatchSize][packet.BatchSize]*packet.Packet
}

func newPMD(dp *Datapath, p *dpPort, c *classifier) *pmd {
	return &pmd{
		dp:    dp,
		no:    p.no,
		name:  p.name,
		port:  p.port,
		cls:   c,
		emc:   newEMC(dp.opts.EMCEntries, int(dp.emcInvProb.Load())),
		emcOn: true,
		x:     newExecutor(),
		done:  make(chan struct{}),
	}
}

// run is the poll loop. It returns when the port is closed or stop is set.
func (p *pmd) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(p.done)
	p.lastRank = p.dp.nowNs()
	failures := 0
	for !p.stop.Load() {
		err := p.port.Recv(&p.rx)
		if err != nil {
			if errors.Is(err, netdev.ErrClosed) {
				return
			}
			if failures == 0 {
				p.dp.opts.Log.Warn("port receive failing", "port", p.name, "error", err)
			}
			failures++
			p.ctr.rxErrors.Add(1)
			time.Sleep(recvErrorBackoff)
			continue
		}
		if failures != 0 {
			p.dp.opts.Log.Info("port receive recovered", "port", p.name, "failures", failures)
			failures = 0
		}
		if p.rx.N == 0 {
			continue
		}
		start := time.Now()
		now := start.UnixNano()
		if !p.dp.realClock {
			now = p.dp.nowNs()
		}
		p.process(&p.rx, now)
		p.ctr.busyNs.Add(uint64(time.Since(start)))
		if now-p.lastRank >= rankInterval {
			p.cls.rank()
			p.lastRank = now
		}
	}
}

// EMC policy constants. The EMC only pays when a classifier lookup costs
// more than an EMC probe and the EMC actually hits: with one subtable a
// megaflow lookup reads the same two cache lines an EMC hit does, and with
// more flows than the EMC holds (OVS's documentation advises turning it off
// then) every miss pays for a useless probe. So lookups run only while the
// classifier has at least emcMinSubtables masks and the last window of
// emcWindow batches hit at least 1/emcMinHitInv of the time; while lookups
// are off, one batch in emcSampleEvery still probes, to notice when the
// traffic changes. Insertions continue (with their 1/N probability) either
// way, so a cache that could start hitting again is warm when it does.
const (
	emcMinSubtables = 2
	emcWindow       = 256
	emcMinHitInv    = 4
	emcSampleEvery  = 16
)

// emcPolicy decides, once per batch, whether the EMC is in use (keys are
// hashed and inserted) and whether this batch looks keys up in it.
func (p *pmd) emcPolicy() (use, lookup bool) {
	if v := uint32(p.dp.emcInvProb.Load()); v != p.emc.invProb {
		p.emc.setInvProb(int(v)) // SetEMCInsertInvProb; allocates only when enabling
	}
	if p.emc.invProb == 0 || p.cls.masks() < emcMinSubtables {
		return false, false
	}
	p.emc.ensure()
	p.batches++
	if p.batches%emcWindow == 0 {
		w := &p.emcWin
		p.emcOn = w.lookups == 0 || w.hits*emcMinHitInv >= w.lookups
		*w = struct{ lookups, hits uint32 }{}
	}
	return true, p.emcOn || p.batches%emcSampleEvery == 0
}

// addToGroup appends pkt to f's group in this batch. Groups are searched
// from the newest, since consecutive packets usually share a flow.
func (p *pmd) addToGroup(f *flow, pkt *packet.Packet, flags uint16) {
	for g := p.ngroups - 1; g >= 0; g-- {
		if p.gflow[g] == f {
			p.gpkts[g][p.gn[g]] = pkt
			p.gn[g]++
			p.gflags[g] |= flags
			return
		}
	}
	g := p.ngroups
	p.ngroups++
	p.gflow[g], p.gflags[g], p.gn[g] = f, flags, 1
	p.gpkts[g][0] = pkt
}

// The per-batch bitmaps (todo, hits) are uint32: a batch must not exceed 32.
const _ = uint(32 - packet.BatchSize)

// process runs one received batch through the caches, the upcall handler
// and the actions, then sends the outputs: one Send per output port.
func (p *pmd) process(b *packet.Batch, now int64) {
	p.x.ports = p.dp.ports.Load()
	p.bc.rx = b.N
	if cfg := p.policing.Load(); cfg != nil {
		p.bc.policed = uint64(p.police(b, cfg, now))
	}
	var lookupEMC bool
	p.useEMC, lookupEMC = p.emcPolicy()
	// Pass 1: extract and look up the EMC; collect the rest in todo.
	var todo uint32
	for i := 0; i < b.N; i++ {
		pkt := b.Pkts[i]
		pkt.InPort = p.no
		k := &p.keys[i]
		Extract(pkt, p.no, k)
		if p.useEMC {
			h := k.Hash()
			p.hashes[i] = h
			if lookupEMC {
				p.emcWin.lookups++
				if f := p.emc.lookup(k, h); f != nil {
					p.emcWin.hits++
					p.bc.emcHits++
					p.addToGroup(f, pkt, k.TCPFlags)
					continue
				}
			}
		}
		todo |= 1 << i
	}
	// Pass 2: the megaflow classifier, batched.
	if todo != 0 {
		hits := p.cls.lookupBatch(&p.keys, todo, &p.found, &p.bc.maskHits)
		for m := hits; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m)
			p.hitMegaflow(p.found[i], i, b.Pkts[i])
		}
		todo &^= hits
	}
	// Pass 3: misses go to the slow path, one by one.
	for m := todo; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		// An earlier miss of this batch may have installed the flow.
		if f, visited := p.cls.lookup(keyWords(&p.keys[i])); f != nil {
			p.bc.maskHits += uint64(visited)
			f.sub.hits.Add(1)
			p.hitMegaflow(f, i, b.Pkts[i])
			continue
		}
		p.upcall(b.Pkts[i], i)
	}
	for g := 0; g < p.ngroups; g++ {
		f := p.gflow[g]
		pkts := p.gpkts[g][:p.gn[g]]
		var size uint64
		for _, pk := range pkts {
			size += uint64(pk.Len())
		}
		f.packets.Add(uint64(len(pkts)))
		f.bytes.Add(size)
		f.used.Store(now)
		if p.gflags[g] != 0 {
			f.tcpFlags.Or(uint32(p.gflags[g]))
		}
		p.x.run(f.prog.Load(), pkts)
		p.gflow[g] = nil
	}
	p.ngroups = 0
	p.x.flush()
	p.publish()
}

func (p *pmd) hitMegaflow(f *flow, i int, pkt *packet.Packet) {
	p.bc.mfHits++
	if p.useEMC {
		p.emc.insert(&p.keys[i], p.hashes[i], f)
	}
	p.addToGroup(f, pkt, p.keys[i].TCPFlags)
}

// upcall sends packet i of the batch to the slow path, installs the
// megaflow it returns and queues the packet on it.
func (p *pmd) upcall(pkt *packet.Packet, i int) {
	p.bc.missed++
	k := &p.keys[i]
	box := p.dp.handler.Load()
	if box == nil {
		p.bc.lost++
		return
	}
	// The flow's creation time is taken before the translation reads
	// anything (FlowEntry.Created).
	start := p.dp.nowNs()
	acts, mask, err := box.h.Upcall(k, pkt)
	if err != nil {
		if errors.Is(err, ErrNoInstall) {
			p.runOne(compile(acts), pkt)
			return
		}
		p.bc.lost++
		return
	}
	prog := p.dp.progs.get(acts)
	f, err := p.dp.install(p.cls, k, &mask, prog, false, start)
	if err != nil {
		// Over the flow limit (or the port is being deleted): forward
		// this packet anyway, without a flow, as OVS does.
		if errors.Is(err, ErrFlowLimit) {
			p.bc.limitHits++
		}
		p.runOne(prog, pkt)
		return
	}
	if p.useEMC {
		p.emc.insert(k, p.hashes[i], f)
	}
	p.addToGroup(f, pkt, k.TCPFlags)
}

func (p *pmd) runOne(prog *program, pkt *packet.Packet) {
	p.one[0] = pkt
	p.x.run(prog, p.one[:])
	p.one[0] = nil
}

// publish adds the batch's counts to the shared counters.
func (p *pmd) publish() {
	bc := &p.bc
	if hits := bc.emcHits + bc.mfHits; hits != 0 {
		p.ctr.hit.Add(hits)
		if bc.emcHits != 0 {
			p.ctr.emcHits.Add(bc.emcHits)
		}
		if bc.mfHits != 0 {
			p.ctr.mfHits.Add(bc.mfHits)
			p.ctr.maskHits.Add(bc.maskHits)
		}
	}
	if bc.missed != 0 {
		p.ctr.missed.Add(bc.missed)
		p.ctr.upcall.Add(bc.missed)
	}
	if bc.lost != 0 {
		p.ctr.lost.Add(bc.lost)
	}
	if bc.limitHits != 0 {
		p.ctr.limitHits.Add(bc.limitHits)
	}
	if p.x.drops != 0 {
		p.ctr.actionDrops.Add(p.x.drops)
		p.x.drops = 0
	}
	if p.x.txErrs != 0 {
		p.ctr.txErrors.Add(p.x.txErrs)
		p.x.txErrs = 0
	}
	if bc.policed != 0 {
		p.ctr.policed.Add(bc.policed)
	}
	p.ctr.rxPackets.Add(uint64(bc.rx))
	p.ctr.batches.Add(1)
	if p.x.sends != 0 {
		p.ctr.sends.Add(p.x.sends)
		p.ctr.sentPkts.Add(p.x.sentPkts)
		p.x.sends, p.x.sentPkts = 0, 0
	}
	*bc = batchCounters{}
}
