package datapath

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/vlan"
)

// ActionKind says what an Action does. New kinds (tunnel push/pop, set-field,
// meter, recirculation) are appended without changing existing ones; an
// executor that meets a kind it does not know drops the packet and counts it.
type ActionKind uint8

// Action kinds.
const (
	// ActDrop drops the packet explicitly. An empty action list drops too.
	ActDrop ActionKind = iota
	// ActOutput sends the packet, as it is at this point of the list, to
	// datapath port Port.
	ActOutput
	// ActPushVLAN pushes a tag TPID/TCI in front of the existing ones.
	ActPushVLAN
	// ActPopVLAN removes the outermost tag; a no-op on untagged frames.
	ActPopVLAN
	// ActSetVLAN rewrites the outermost tag's TCI bits selected by TCIMask
	// (0 means all 16 bits) to TCI; a no-op on untagged frames.
	ActSetVLAN
	// ActMirror is ActOutput for a mirror destination: the same behaviour,
	// counted separately. (Reserved for mirror/.)
	ActMirror

	// ActTunnelPush encapsulates the packet in the outer header template
	// in Data; build it with TunnelPush (tunnel.go).
	ActTunnelPush
	// Reserved for later: tunnel pop (needs recirculation), set-field
	// (a key and mask in Data), meter (the id in Port).
	ActTunnelPop
	ActSetField
	ActMeter
	actKindCount
)

var actionKindNames = [...]string{
	ActDrop: "drop", ActOutput: "output", ActPushVLAN: "push_vlan",
	ActPopVLAN: "pop_vlan", ActSetVLAN: "set_vlan", ActMirror: "mirror",
	ActTunnelPush: "tnl_push", ActTunnelPop: "tnl_pop", ActSetField: "set",
	ActMeter: "meter",
}

// String returns the kind's name as dpctl prints it.
func (k ActionKind) String() string {
	if k < actKindCount {
		return actionKindNames[k]
	}
	return "action(" + strconv.Itoa(int(k)) + ")"
}

// Action is one datapath action. It is a small value so an action list is a
// plain slice that the upcall handler builds and the datapath keeps. Fields
// that a kind does not use are zero.
type Action struct {
	Kind ActionKind
	// TPID is the tag protocol for ActPushVLAN (0x8100 or 0x88a8).
	TPID uint16
	// TCI is the tag control information for ActPushVLAN and ActSetVLAN.
	TCI uint16
	// TCIMask selects which TCI bits ActSetVLAN rewrites; 0 means all.
	TCIMask uint16
	// Port is the datapath port for ActOutput and ActMirror (the meter id for
	// ActMeter, the tunnel port for ActTunnelPop).
	Port uint32
	// Data is a byte payload for kinds that need one (tunnel header
	// template, set-field key and mask). The datapath never modifies it.
	Data []byte
}

// Actions is an ordered action list. The zero value drops.
type Actions []Action

// Output returns an ActOutput action.
func Output(port uint32) Action { return Action{Kind: ActOutput, Port: port} }

// PushVLAN returns an ActPushVLAN action.
func PushVLAN(tpid, tci uint16) Action { return Action{Kind: ActPushVLAN, TPID: tpid, TCI: tci} }

// PopVLAN returns an ActPopVLAN action.
func PopVLAN() Action { return Action{Kind: ActPopVLAN} }

// SetVLAN returns an ActSetVLAN action rewriting the outer tag's TCI bits in
// mask (0 = all bits) to tci.
func SetVLAN(tci, mask uint16) Action { return Action{Kind: ActSetVLAN, TCI: tci, TCIMask: mask} }

// Drop returns an ActDrop action.
func Drop() Action { return Action{Kind: ActDrop} }

// String formats the list as dpctl/dump-flows prints actions, e.g.
// "push_vlan(vid=10,pcp=0),2,3" or "drop".
func (as Actions) String() string {
	if len(as) == 0 {
		return "drop"
	}
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// String formats one action as dpctl prints it.
func (a Action) String() string {
	switch a.Kind {
	case ActOutput:
		return strconv.FormatUint(uint64(a.Port), 10)
	case ActMirror:
		return "mirror(" + strconv.FormatUint(uint64(a.Port), 10) + ")"
	case ActPushVLAN:
		s := fmt.Sprintf("push_vlan(vid=%d,pcp=%d)", a.TCI&0x0fff, a.TCI>>13)
		if a.TPID != 0 && a.TPID != EthTypeVLAN {
			s = fmt.Sprintf("push_vlan(tpid=0x%04x,vid=%d,pcp=%d)", a.TPID, a.TCI&0x0fff, a.TCI>>13)
		}
		return s
	case ActPopVLAN:
		return "pop_vlan"
	case ActSetVLAN:
		m := a.TCIMask
		if m == 0 {
			m = 0xffff
		}
		return fmt.Sprintf("set(vlan(tci=0x%04x/0x%04x))", a.TCI, m)
	case ActDrop:
		return "drop"
	case ActTunnelPush:
		return fmt.Sprintf("tnl_push(header(size=%d))", len(a.Data))
	default:
		return a.Kind.String()
	}
}

// isEdit reports whether an action kind modifies the packet.
func isEdit(k ActionKind) bool {
	switch k {
	case ActPushVLAN, ActPopVLAN, ActSetVLAN, ActTunnelPush, ActTunnelPop, ActSetField:
		return true
	}
	return false
}

// program is an action list prepared for execution: for each output it
// records whether a later action edits the packet, in which case the output
// must send a private copy (the original goes on being edited). Outputs
// after the last edit send the packet itself, shared between their tx
// batches, which is safe because Send does not keep or change packets.
// Programs are immutable and shared between flows with equal actions (see
// programCache), so that the hit path finds them in cache.
type program struct {
	acts Actions
	// tnl holds the parsed template of each ActTunnelPush, by action
	// index; nil when the list has none. A template that does not parse
	// leaves a nil entry and the action drops.
	tnl []*tunnelHdr
	// copyOut has bit i set when output action i must send a copy; lists
	// longer than 64 actions copy at every output from the 64th on.
	copyOut uint64
}

func (p *program) mustCopy(i int) bool {
	if i >= 64 {
		return true
	}
	return p.copyOut&(1<<i) != 0
}

func compile(acts Actions) *program {
	p := &program{acts: acts}
	editLater := false
	for i := len(acts) - 1; i >= 0; i-- {
		switch k := acts[i].Kind; {
		case k == ActOutput || k == ActMirror:
			if editLater && i < 64 {
				p.copyOut |= 1 << i
			}
		case isEdit(k):
			editLater = true
		}
		if acts[i].Kind == ActTunnelPush {
			if p.tnl == nil {
				p.tnl = make([]*tunnelHdr, len(acts))
			}
			if t, err := parseTunnelHeader(acts[i].Data); err == nil {
				p.tnl[i] = &t
			}
		}
	}
	return p
}

// programCacheMax bounds the number of distinct action lists programCache
// remembers; past it the cache starts over (programs stay valid, they are
// only no longer shared with new flows).
const programCacheMax = 4096

// programCache interns programs by their action list, so the thousands of
// megaflows that NORMAL switching produces with a handful of distinct
// action lists share a few program objects instead of each pointing at its
// own cold copy.
type programCache struct {
	mu sync.Mutex
	m  map[string]*program
}

func (c *programCache) get(acts Actions) *program {
	key := actionsKey(acts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.m[key]; p != nil {
		return p
	}
	if c.m == nil || len(c.m) >= programCacheMax {
		c.m = make(map[string]*program)
	}
	p := compile(acts)
	c.m[key] = p
	return p
}

// actionsKey encodes an action list as a map key.
func actionsKey(acts Actions) string {
	b := make([]byte, 0, len(acts)*15)
	for _, a := range acts {
		b = append(b, byte(a.Kind), byte(a.TPID>>8), byte(a.TPID), byte(a.TCI>>8), byte(a.TCI),
			byte(a.TCIMask>>8), byte(a.TCIMask), byte(a.Port>>24), byte(a.Port>>16), byte(a.Port>>8), byte(a.Port),
			byte(len(a.Data)>>24), byte(len(a.Data)>>16), byte(len(a.Data)>>8), byte(len(a.Data)))
		b = append(b, a.Data...)
	}
	return string(b)
}

// copyBufSize is the buffer of a pooled packet copy: a full-size Ethernet
// frame with two tags plus headroom. Larger frames (GSO) get their own
// buffer, which then stays in the pool.
const copyBufSize = packet.Headroom + 2048

// keepCopies bounds the packet copies an executor keeps for itself between
// flushes: two batches, so a frame flooded to a few ports copies without
// leaving the poll goroutine. Copies beyond that go to sharedCopies, which
// all executors draw on and the garbage collector empties when they go
// unused: with one executor per port, a flood to every port of a
// thousand-port bridge (IPv6 link-up multicast is enough) otherwise left
// each executor a thousand copies, half a gigabyte in all.
const keepCopies = 2 * packet.BatchSize

// maxLiveCopies is how many copies an executor lets accumulate in its tx
// batches before it sends them: a batch flooded to a thousand ports would
// otherwise hold 32,000 copies (70 MB) until the end of the batch. Each
// port still gets its frames in one Send, since output queues a group's
// frames for one port at a time.
const maxLiveCopies = 8 * packet.BatchSize

// sharedCopies holds packet copies (*packet.Packet with a buffer of at
// least copyBufSize) beyond what executors keep.
var sharedCopies sync.Pool

// executor runs programs on packets and gathers outputs in one tx batch per
// output port. Each poll goroutine has one; Execute uses another under a
// mutex. Nothing in it allocates in steady state: tx batches are created
// the first time a port number is used, copies come from a free list.
type executor struct {
	ports *portTable
	tx    []*packet.Batch // by port number
	dirty []uint32        // ports with queued packets
	free  []*packet.Packet
	inUse []*packet.Packet

	drops    uint64 // packets dropped by actions
	txErrs   uint64 // Send errors
	sends    uint64 // Send calls
	sentPkts uint64 // packets in those calls

	// Software GSO state, set up on first use.
	segScratch []byte
	segFn      func([]byte) // x.segmentOut, bound once
	segNo      uint32
	segPort    *dpPort
	segIn      *packet.Packet
}

func newExecutor() *executor {
	return &executor{dirty: make([]uint32, 0, 16), inUse: make([]*packet.Packet, 0, 64)}
}

// run executes prog on pkts in place. Packets that an action must drop are
// replaced by nil in pkts.
func (x *executor) run(prog *program, pkts []*packet.Packet) {
	for i := range prog.acts {
		a := &prog.acts[i]
		switch a.Kind {
		case ActOutput, ActMirror:
			x.output(a.Port, pkts, prog.mustCopy(i))
		case ActPushVLAN:
			tpid := a.TPID
			if tpid == 0 {
				tpid = EthTypeVLAN
			}
			for j, p := range pkts {
				if p != nil && !pushVLAN(p, tpid, a.TCI) {
					pkts[j] = nil
					x.drops++
				}
			}
		case ActPopVLAN:
			for _, p := range pkts {
				if p != nil && vlan.RemoveTag(p.Data()) {
					p.Pull(vlan.TagSize)
					shiftOffload(p, -vlan.TagSize)
				}
			}
		case ActSetVLAN:
			for _, p := range pkts {
				if p != nil {
					vlan.SetTCI(p.Data(), a.TCI, a.TCIMask)
				}
			}
		case ActTunnelPush:
			t := prog.tnl[i]
			for j, p := range pkts {
				if p != nil && (t == nil || !tunnelPush(p, t)) {
					pkts[j] = nil
					x.drops++
				}
			}
		case ActDrop:
			return
		default:
			// A kind this executor does not implement yet: drop rather
			// than forward a packet that missed an edit.
			for j, p := range pkts {
				if p != nil {
					pkts[j] = nil
					x.drops++
				}
			}
			return
		}
	}
}

func pushVLAN(p *packet.Packet, tpid, tci uint16) bool {
	if p.Len() < 12 {
		return false
	}
	if _, ok := p.Push(vlan.TagSize); !ok {
		return false
	}
	if !vlan.InsertTag(p.Data(), tpid, tci) {
		return false
	}
	shiftOffload(p, vlan.TagSize)
	return true
}

// shiftOffload moves a packet's virtio-net header offsets, which count from
// the start of the frame, after d bytes were pushed (d > 0) or pulled
// (d < 0) in front of the L3 header, so that checksum-partial and GSO frames
// stay valid across VLAN push and pop.
func shiftOffload(p *packet.Packet, d int) {
	o := &p.Offload
	if o.Flags&offload.FlagNeedsCsum != 0 && int(o.CsumStart)+d >= 0 {
		o.CsumStart = uint16(int(o.CsumStart) + d)
	}
	if o.GSOType != 0 && int(o.HdrLen)+d >= 0 {
		o.HdrLen = uint16(int(o.HdrLen) + d)
	}
}

// portCaps returns the offloads a port accepts on Send: its offload.Caps
// when it reports them, everything when it only says it carries virtio-net
// headers, nothing otherwise.
func portCaps(p netdev.Port) offload.Caps {
	if c, ok := p.(interface{ Caps() offload.Caps }); ok {
		return c.Caps()
	}
	if v, ok := p.(netdev.OffloadCaps); ok && v.VnetHdr() {
		return offload.CapsAll
	}
	return 0
}

// copyPacket returns a pooled copy of p, valid until flush.
func (x *executor) copyPacket(p *packet.Packet) *packet.Packet {
	c := x.copyFrame(p.Data())
	c.InPort, c.Offload = p.InPort, p.Offload
	return c
}

// copyFrame returns a pooled packet holding a copy of frame, with zero
// metadata, valid until flush.
func (x *executor) copyFrame(frame []byte) *packet.Packet {
	n := len(frame)
	var c *packet.Packet
	var buf []byte
	if k := len(x.free); k > 0 {
		c = x.free[k-1]
		x.free = x.free[:k-1]
		buf, _, _ = c.Buffer()
	} else if s, _ := sharedCopies.Get().(*packet.Packet); s != nil {
		c = s
		buf, _, _ = c.Buffer()
	} else {
		c = &packet.Packet{}
	}
	if len(buf) < packet.Headroom+n {
		buf = make([]byte, max(copyBufSize, packet.Headroom+n))
	}
	c.Reset(buf, packet.Headroom, packet.Headroom+n)
	copy(c.Data(), frame)
	x.inUse = append(x.inUse, c)
	return c
}

// output queues pkts (skipping nils) on port no, as private copies when cp
// is set. It resolves the port and its tx batch once for the whole group.
func (x *executor) output(no uint32, pkts []*packet.Packet, cp bool) {
	if cp && len(x.inUse) >= maxLiveCopies {
		// Between outputs the copies are referenced only by the tx
		// batches, so sending those now lets the copies be reused.
		x.flush()
	}
	dp := x.ports.get(no)
	if dp == nil {
		for _, p := range pkts {
			if p != nil {
				x.drops++
			}
		}
		return
	}
	b := x.txBatch(no)
	for _, p := range pkts {
		if p == nil {
			continue
		}
		if cp {
			p = x.copyPacket(p)
		}
		if p.Offload != (packet.Offload{}) && !dp.caps.Accepts(p.Offload) {
			x.finishOffload(no, dp, p)
			continue
		}
		if b.N == 0 {
			x.dirty = append(x.dirty, no)
		}
		b.Pkts[b.N] = p
		b.N++
		if b.N == packet.BatchSize {
			x.send(dp, b)
		}
	}
}

// txBatch returns port no's tx batch, creating it on first use.
func (x *executor) txBatch(no uint32) *packet.Batch {
	if int(no) >= len(x.tx) {
		x.tx = append(x.tx, make([]*packet.Batch, int(no)+1-len(x.tx))...)
	}
	b := x.tx[no]
	if b == nil {
		b = &packet.Batch{}
		x.tx[no] = b
	}
	return b
}

// enqueueTo adds p to port no's tx batch, sending the batch when it is
// full. p must already suit the port's offloads (see output).
func (x *executor) enqueueTo(no uint32, dp *dpPort, p *packet.Packet) {
	b := x.txBatch(no)
	if b.N == 0 {
		x.dirty = append(x.dirty, no)
	}
	b.Add(p)
	if b.Full() {
		x.send(dp, b)
	}
}

// segScratchSize holds the largest segment of a 64 KiB GSO frame.
const segScratchSize = 65536 + packet.Headroom

// finishOffload completes p for a port without the offload it needs: a
// checksum-partial frame gets its checksum in place (harmless for other
// outputs of the same packet, which then see a complete frame), a GSO frame
// is split into pooled copies, one per segment.
func (x *executor) finishOffload(no uint32, dp *dpPort, p *packet.Packet) {
	off := p.Offload
	if !offload.IsGSO(off) {
		if !offload.Checksum(p.Data(), off) {
			x.drops++
			return
		}
		p.Offload.Flags &^= offload.FlagNeedsCsum
		p.Offload.CsumStart, p.Offload.CsumOffset = 0, 0
		x.enqueueTo(no, dp, p)
		return
	}
	if x.segScratch == nil {
		x.segScratch = make([]byte, segScratchSize)
		x.segFn = x.segmentOut
	}
	x.segNo, x.segPort, x.segIn = no, dp, p
	if _, ok := offload.Segment(p.Data(), off, x.segScratch, x.segFn); !ok {
		x.drops++
	}
	x.segPort, x.segIn = nil, nil
}

// segmentOut queues one segment produced by offload.Segment.
func (x *executor) segmentOut(seg []byte) {
	c := x.copyFrame(seg)
	c.InPort = x.segIn.InPort
	x.enqueueTo(x.segNo, x.segPort, c)
}

func (x *executor) send(p *dpPort, b *packet.Batch) {
	if err := p.port.Send(b); err != nil {
		x.txErrs++
	}
	x.sends++
	x.sentPkts += uint64(b.N)
	b.Reset()
}

// flush sends every queued tx batch (one Send per port) and recycles the
// copies made since the last flush.
func (x *executor) flush() {
	for _, no := range x.dirty {
		if b := x.tx[no]; b.N > 0 {
			if dp := x.ports.get(no); dp != nil {
				x.send(dp, b)
			} else {
				x.drops += uint64(b.N)
				b.Reset()
			}
		}
	}
	x.dirty = x.dirty[:0]
	keep := min(len(x.inUse), max(0, keepCopies-len(x.free)))
	x.free = append(x.free, x.inUse[:keep]...)
	for _, c := range x.inUse[keep:] {
		sharedCopies.Put(c)
	}
	clear(x.inUse)
	x.inUse = x.inUse[:0]
}
