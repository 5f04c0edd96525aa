package xlate

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/ofproto/maclearn"
)

// Errors returned by the fdb and trace back ends.
var (
	// ErrNoSuchBridge: the named bridge is not in the published config.
	// Its text is the one ovs-vswitchd replies with.
	ErrNoSuchBridge = errors.New("no such bridge")
)

// Xlate translates datapath misses with the NORMAL action against the
// published configuration. Its methods are safe for concurrent use; Upcall
// and RevalidateFlow never wait for Publish.
type Xlate struct {
	now  func() time.Time
	snap atomic.Pointer[snapshot]

	// publishMu serialises Publish (snapshot compilation reuses the
	// previous snapshot's MAC tables).
	publishMu sync.Mutex

	changes chan struct{}
	// full asks the revalidator for a pass over every flow (set by
	// Publish); MAC table changes are logged by the tables themselves.
	full atomic.Bool
	// refreshAfter (Unix ns) is when the previous full revalidation pass
	// started: RevalidateFlow refreshes MACs only from flows hit since
	// then, as OVS pushes a flow's statistics to learning only when it has
	// new packets. An idle flow whose MAC was evicted does not re-learn it
	// on every pass.
	refreshAfter atomic.Int64
	// reval is the revalidator's state (see revalState).
	reval revalState
	// dsts is the destinations of the installed flows, noted by Upcall
	// and by passes, so that the revalidator ignores changes to other
	// MACs.
	dsts dstSet

	// ctxs recycles translation contexts (about 1 KiB each, mostly the
	// action scratch array), so that an upcall allocates only the action
	// list it returns. A context on the stack would be better, but the
	// scratch slice pointing into the context moves it to the heap.
	ctxs sync.Pool
}

// Option configures New.
type Option func(*Xlate)

// WithClock makes the MAC tables use now instead of time.Now (tests inject a
// fake clock to drive aging).
func WithClock(now func() time.Time) Option { return func(x *Xlate) { x.now = now } }

// New returns a translator with an empty configuration: every upcall drops
// until the first Publish.
func New(opts ...Option) *Xlate {
	x := &Xlate{now: time.Now, changes: make(chan struct{}, 1)}
	x.ctxs.New = func() any { return new(ctx) }
	for _, o := range opts {
		o(x)
	}
	x.snap.Store(compile(nil, nil, nil))
	return x
}

// Publish makes cfg the configuration that translations use. cfg and what
// it points to must not be modified afterwards. MAC tables of bridges that
// stay are kept (with new limits); entries of deleted or VLAN-reconfigured
// ports are flushed. Installed flows should then be revalidated: Changes
// fires.
func (x *Xlate) Publish(cfg *Config) {
	x.publishMu.Lock()
	s := compile(cfg, x.snap.Load(), func(b *Bridge) *maclearn.Table {
		return maclearn.New(b.agingTime(), b.tableSize(), x.now)
	})
	old := x.snap.Swap(s)
	if old != nil {
		// Upcalls still running on the old snapshot may have learned
		// on ports that compile just flushed: flush them again now
		// that no new upcall can see the old configuration.
		for name, ob := range old.bridges {
			if nb := s.bridges[name]; nb != nil {
				flushChanged(ob, nb)
			}
		}
	}
	x.publishMu.Unlock()
	x.full.Store(true)
	x.notify()
}

// Config returns the published configuration (nil before the first
// Publish).
func (x *Xlate) Config() *Config { return x.snap.Load().cfg }

// Changes returns a channel that receives (coalesced) whenever installed
// flows may have become stale: a Publish, a MAC learned or moved, entries
// expired or flushed. A revalidator waits on it; see RunRevalidator.
func (x *Xlate) Changes() <-chan struct{} { return x.changes }

func (x *Xlate) notify() {
	select {
	case x.changes <- struct{}{}:
	default:
	}
}

// Upcall implements datapath.UpcallHandler: it translates a missed packet
// with NORMAL, learning its source MAC, and returns the datapath actions and
// the megaflow mask (in_port, the outer VLAN tag's presence and VID, plus
// the PCP/inner-tag bits where used, eth_src and eth_dst; never L3/L4, so
// one megaflow serves every IP/TCP/UDP variant of the L2 flow). Packets from
// an unknown port get a drop flow matching only in_port (and the VLAN and
// MAC fields), which revalidation removes once the port is configured.
//
// The datapath calls Upcall from the poll goroutine of key's in_port,
// concurrently for different ports; it reads the snapshot without locks and
// takes a MAC table's lock only to learn something new. A translation
// allocates only the returned action list (the datapath owns it); it never
// returns an error.
func (x *Xlate) Upcall(key *datapath.FlowKey, _ *packet.Packet) (datapath.Actions, datapath.Mask, error) {
	c := x.getCtx()
	defer x.putCtx(c)
	// Before reading the table: a change to the destination taken after
	// this must be seen by the revalidator (takeChanges).
	x.dsts.note(key.EthDst, x.now().UnixNano())
	s := x.snap.Load()
	c.init(s, key, learnApply)
	if in := s.byDP[key.InPort]; in != nil {
		c.translate(in, origStack(key))
	}
	if c.changed {
		x.notify()
	}
	return c.actions(), c.mask, nil
}

func (x *Xlate) getCtx() *ctx { return x.ctxs.Get().(*ctx) }

func (x *Xlate) putCtx(c *ctx) {
	*c = ctx{}
	x.ctxs.Put(c)
}

var _ datapath.UpcallHandler = (*Xlate)(nil)

// Translate is Upcall without side effects (nothing is learned): what the
// datapath would be told for key now.
func (x *Xlate) Translate(key *datapath.FlowKey) (datapath.Actions, datapath.Mask) {
	c := x.getCtx()
	defer x.putCtx(c)
	s := x.snap.Load()
	c.init(s, key, learnNone)
	if in := s.byDP[key.InPort]; in != nil {
		c.translate(in, origStack(key))
	}
	return c.actions(), c.mask
}

// RevalidateFlow is a datapath.RevalidateFunc: it re-translates an
// installed megaflow against the current configuration and MAC tables.
// It returns keep=false (delete) when the translation now reads bits the
// flow does not match on (its mask is no longer wide enough to make every
// packet of the flow translate alike) or the in_port is gone, and
// otherwise the actions the flow should have (the datapath swaps them in
// when they differ). It also refreshes the MAC entries the flow learned when
// the flow was used more recently than the entry and since the previous
// full pass, so that MACs whose traffic stays in the fast path do not age
// out (OVS's XC_NORMAL).
func (x *Xlate) RevalidateFlow(f *datapath.FlowEntry) (datapath.Actions, bool) {
	c := x.getCtx()
	defer x.putCtx(c)
	s := x.snap.Load()
	// The translation only reads the key, and the context goes back to
	// the pool before f does: no copy.
	key := &f.Key
	c.init(s, key, learnRecord)
	in := s.byDP[key.InPort]
	if in == nil {
		return nil, false // the port is gone (or not configured yet)
	}
	c.translate(in, origStack(key))
	if !maskWithin(&c.mask, &f.Mask) {
		return nil, false
	}
	if used := f.Stats.Used; !used.IsZero() && used.UnixNano() > x.refreshAfter.Load() {
		changed := false
		for _, ev := range c.recorded[:c.nrec] {
			if ev.br.ml.LearnAt(ev.vlan, ev.mac, ev.port, used) {
				changed = true
			}
		}
		if changed {
			x.notify()
		}
	}
	if !c.failed && slices.EqualFunc(c.acts, f.Actions, sameAction) {
		// Unchanged (the common case): hand back the installed list
		// instead of a copy, so that a pass over 100k flows does not
		// allocate 100k action lists for the garbage collector.
		return f.Actions, true
	}
	return c.actions(), true
}

var _ datapath.RevalidateFunc = (*Xlate)(nil).RevalidateFlow

func sameAction(a, b datapath.Action) bool {
	return a.Kind == b.Kind && a.TPID == b.TPID && a.TCI == b.TCI && a.TCIMask == b.TCIMask &&
		a.Port == b.Port && string(a.Data) == string(b.Data)
}

// Expire ages every bridge's MAC table and returns how many entries it
// removed. Call it about once a second (RunRevalidator does).
func (x *Xlate) Expire() int {
	n := 0
	for _, b := range x.snap.Load().bridges {
		n += b.ml.Expire()
	}
	if n > 0 {
		x.notify()
	}
	return n
}

// MACVersion returns a number that changes whenever any bridge's MAC table
// changes in a way lookups can see.
func (x *Xlate) MACVersion() uint64 {
	var v uint64
	for _, b := range x.snap.Load().bridges {
		v += b.ml.Version()
	}
	return v
}

// MACTable returns bridge's MAC learning table, or nil.
func (x *Xlate) MACTable(bridge string) *maclearn.Table {
	if b := x.snap.Load().bridges[bridge]; b != nil {
		return b.ml
	}
	return nil
}

// maskWithin reports whether every bit set in m is set in flow, for the
// fields NORMAL un-wildcards. The datapath widens installed masks (in_port,
// recirc_id, eth_type, IP fragments), so equality would be too strict; a
// flow that matches more bits than the translation reads is still correct.
func maskWithin(m, flow *datapath.Mask) bool {
	sub16 := func(a, b uint16) bool { return a&^b == 0 }
	for i := range m.VLAN {
		if !sub16(m.VLAN[i].TPID, flow.VLAN[i].TPID) || !sub16(m.VLAN[i].TCI, flow.VLAN[i].TCI) {
			return false
		}
	}
	for i := range m.EthSrc {
		if m.EthSrc[i]&^flow.EthSrc[i] != 0 || m.EthDst[i]&^flow.EthDst[i] != 0 {
			return false
		}
	}
	return m.InPort&^flow.InPort == 0
}
