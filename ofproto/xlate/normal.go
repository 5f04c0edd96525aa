package xlate

import (
	"fmt"
	"strings"

	"github.com/gvswitch/gvswitch/datapath"
)

// maxDepth bounds patch-port recursion, like Open vSwitch's MAX_DEPTH.
const maxDepth = 64

// maxOutputs bounds the outputs of one translation, so that a loop of patch
// ports that floods into itself cannot blow up.
const maxOutputs = 1024

// learnMode says what translation does with the MAC learning it performs.
type learnMode uint8

const (
	learnApply  learnMode = iota // upcall: learn into the tables
	learnRecord                  // revalidation: remember, caller refreshes
	learnNone                    // trace: side-effect free
)

// maxRecorded bounds the learning events a revalidation remembers (one per
// bridge crossed).
const maxRecorded = 8

// learnEvent is one (bridge, VLAN, MAC, port) a translation learned.
type learnEvent struct {
	br   *xbridge
	vlan uint16
	mac  [6]byte
	port uint32
}

// ctx is one translation. Contexts come from ctxPool.
type ctx struct {
	snap *snapshot
	key  *datapath.FlowKey
	mask datapath.Mask

	acts    []datapath.Action
	scratch [16]datapath.Action
	cur     stack // the tags the packet carries at this point of acts
	outputs int
	depth   int
	failed  bool // translation aborted: drop everything

	mode     learnMode
	changed  bool // learning changed a table (new entry or move)
	recorded [maxRecorded]learnEvent
	nrec     int

	tr *strings.Builder // non-nil when tracing
}

func (c *ctx) init(snap *snapshot, key *datapath.FlowKey, mode learnMode) {
	c.snap, c.key, c.mode = snap, key, mode
	c.acts = c.scratch[:0]
	c.cur = origStack(key)
	// in_port is always exact. NORMAL reads the outer tag's presence and
	// VID, the source MAC (learning) and the destination MAC (lookup);
	// nothing above L2. Further VLAN bits are added where they are read.
	c.mask.InPort = datapath.ExactU32
	c.mask.VLAN[0].TPID = datapath.ExactU16
	c.mask.VLAN[0].TCI = 0x0fff
	c.mask.EthSrc = datapath.ExactMAC
	c.mask.EthDst = datapath.ExactMAC
}

// actions returns the translation's actions as a new slice the caller may
// hand over (nil means drop).
func (c *ctx) actions() datapath.Actions {
	if c.failed || len(c.acts) == 0 {
		return nil
	}
	out := make(datapath.Actions, len(c.acts))
	copy(out, c.acts)
	return out
}

func (c *ctx) note(format string, args ...any) {
	if c.tr != nil {
		fmt.Fprintf(c.tr, "     -> "+format+"\n", args...)
	}
}

func (c *ctx) noteErr(format string, args ...any) {
	if c.tr != nil {
		fmt.Fprintf(c.tr, "     >>>> "+format+" <<<<\n", args...)
	}
}

// translate runs NORMAL for the frame entering in with tags s.
func (c *ctx) translate(in *xport, s stack) {
	br := in.br
	if c.tr != nil {
		if c.depth > 0 {
			c.tr.WriteByte('\n')
		}
		fmt.Fprintf(c.tr, "bridge(\"%s\")\n%s\n 0. priority 0\n    NORMAL\n", br.cfg.Name, strings.Repeat("-", len(br.cfg.Name)+10))
	}
	if in.cfg.Down {
		if c.tr != nil {
			c.note("input port %s is down, dropping", in.name())
		}
		return
	}
	l, usedPCP, verdict := inputVLAN(in, s, c.hasInner)
	if verdict != vlanOK {
		c.reportVLAN(in, s, verdict)
		return
	}
	if usedPCP {
		c.mask.VLAN[0].TCI |= 0xe000
	}
	vlan := l.vlan()
	if c.tr != nil {
		c.note("input VLAN %d (port %s: %s%s)", vlan, in.name(), in.cfg.VLANMode, portVLANDetail(in.cfg))
	}

	if !br.cfg.ForwardBPDU && isReserved(c.key.EthDst) {
		c.note("packet has reserved destination MAC, dropping")
		return
	}
	flood := br.cfg.FloodVLANs.Has(vlan)
	src, dst := c.key.EthSrc, c.key.EthDst
	switch {
	case isMulticast(src):
		c.note("source MAC is multicast, not learning")
	case flood:
		if c.tr != nil {
			c.note("VLAN %d is a flood VLAN, not learning", vlan)
		}
	default:
		c.learn(br, vlan, src, in.cfg.OFPort)
	}

	if isMulticast(dst) || flood {
		c.note("no learned MAC for destination, flooding")
		c.flood(in, l, vlan)
		return
	}
	ofp, ok := br.ml.Lookup(vlan, dst)
	if !ok && c.mode != learnApply && dst == src && !isMulticast(src) && !flood {
		// Translating without side effects: the frame would have
		// just taught the table its own source.
		ofp, ok = in.cfg.OFPort, true
	}
	if !ok {
		c.note("no learned MAC for destination, flooding")
		c.flood(in, l, vlan)
		return
	}
	out := br.byOF[ofp]
	switch {
	case out == in:
		c.note("learned port is input port, dropping")
	case out == nil || !c.carries(out, &l) || out.cfg.Down:
		// A stale entry (its port was reconfigured while an upcall
		// learned on the old configuration): never black-hole.
		c.note("learned port is unusable now, flooding")
		c.flood(in, l, vlan)
	default:
		c.note("forwarding to learned port")
		c.output(out, l)
	}
}

func (c *ctx) reportVLAN(in *xport, s stack, v vlanVerdict) {
	if c.tr == nil {
		return
	}
	vid := s.vlan()
	switch v {
	case vlanTaggedOnAccess:
		c.noteErr("dropping VLAN %d tagged packet received on port %s configured as VLAN %d access port", vid, in.name(), in.cfg.Tag)
	case vlanDoubleTaggedOnAccess:
		c.noteErr("dropping double-tagged packet received on port %s configured as VLAN %d access port", in.name(), in.cfg.Tag)
	case vlanNotTrunked:
		c.noteErr("dropping VLAN %d packet received on port %s not configured for trunking VLAN %d", vid, in.name(), vid)
	case vlanCVLANExcluded:
		c.noteErr("dropping VLAN %d packet received on dot1q-tunnel port %s that excludes this VLAN", vid, in.name())
	}
	c.tr.WriteString("     >> disallowed VLAN VID for this input port, dropping\n")
}

// hasInner reports whether the frame has a second tag after its original
// outer tag, un-wildcarding that fact.
func (c *ctx) hasInner() bool {
	c.mask.VLAN[1].TPID = datapath.ExactU16
	return c.key.VLAN[1].Present()
}

func (c *ctx) learn(br *xbridge, vlan uint16, mac [6]byte, ofp uint32) {
	switch c.mode {
	case learnApply:
		if br.ml.Learn(vlan, mac, ofp) {
			c.changed = true
		}
	case learnRecord:
		if c.nrec < maxRecorded {
			c.recorded[c.nrec] = learnEvent{br: br, vlan: vlan, mac: mac, port: ofp}
			c.nrec++
		}
	}
}

func (c *ctx) flood(in *xport, l stack, vlan uint16) {
	if c.tr != nil {
		var names []string
		for _, p := range in.br.ports {
			if p != in && c.carries(p, &l) && !p.cfg.Down {
				names = append(names, p.name())
			}
		}
		c.note("flood set for VLAN %d: %s", vlan, strings.Join(names, ", "))
	}
	for _, p := range in.br.ports {
		if p != in && c.carries(p, &l) && !p.cfg.Down {
			c.output(p, l)
		}
	}
}

// output sends the frame with logical tags l out of port p, continuing in
// the peer bridge for patch ports.
func (c *ctx) output(p *xport, l stack) {
	if c.failed {
		return
	}
	c.outputs++
	if c.outputs > maxOutputs {
		if c.tr != nil {
			c.noteErr("over max outputs %d, dropping", maxOutputs)
		}
		c.failed = true
		return
	}
	d, readPCP := outputVLAN(p, l)
	if readPCP {
		c.mask.VLAN[0].TCI |= 0xe000
	}
	if p.cfg.Patch != "" {
		if p.peer == nil {
			if c.tr != nil {
				c.note("patch port %s has no peer, dropping", p.name())
			}
			return
		}
		if c.depth >= maxDepth {
			if c.tr != nil {
				c.noteErr("over max translation depth %d", maxDepth)
			}
			c.failed = true
			return
		}
		c.depth++
		c.translate(p.peer, d)
		c.depth--
		return
	}
	if !c.commit(d) {
		c.noteErr("too many actions, dropping")
		c.failed = true
		return
	}
	c.acts = append(c.acts, datapath.Output(p.cfg.DPPort))
}

// commit appends the pops and pushes that turn the packet's current tags
// into d, reusing the longest common inner part.
func (c *ctx) commit(d stack) bool {
	k := 0
	for k < c.cur.n && k < d.n && c.cur.t[c.cur.n-1-k].same(d.t[d.n-1-k]) {
		k++
	}
	for i := 0; i < c.cur.n-k; i++ {
		c.acts = append(c.acts, datapath.PopVLAN())
	}
	for i := d.n - k - 1; i >= 0; i-- {
		t := d.t[i]
		if t.orig {
			// Restoring the original tag reads all of its bits.
			c.mask.VLAN[0].TCI = datapath.ExactU16
			t.tpid, t.tci = c.key.VLAN[0].TPID, c.key.VLAN[0].TCI
		}
		c.acts = append(c.acts, datapath.PushVLAN(t.tpid, t.tci))
	}
	c.cur = d
	return len(c.acts) < 4*maxOutputs
}

func isMulticast(m [6]byte) bool { return m[0]&1 != 0 }

// isReserved reports MACs that bridges must not forward unless
// other_config:forward-bpdu is true (OVS's eth_addr_is_reserved):
// 01:80:c2:00:00:00-0f (STP, LACP, 802.1X, LLDP...) and Cisco's
// 01:00:0c:cc:cc:cc (CDP, VTP, DTP), 01:00:0c:cc:cc:cd (PVST+),
// 01:00:0c:cd:cd:cd (STP UplinkFast) and 01:00:0c:00:00:00 (ISL).
func isReserved(m [6]byte) bool {
	switch {
	case m[0] == 0x01 && m[1] == 0x80 && m[2] == 0xc2 && m[3] == 0 && m[4] == 0 && m[5] <= 0x0f:
		return true
	case m == [6]byte{0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc},
		m == [6]byte{0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcd},
		m == [6]byte{0x01, 0x00, 0x0c, 0xcd, 0xcd, 0xcd},
		m == [6]byte{0x01, 0x00, 0x0c, 0x00, 0x00, 0x00}:
		return true
	}
	return false
}

func portVLANDetail(p *Port) string {
	switch p.VLANMode {
	case Access, NativeTagged, NativeUntagged:
		return fmt.Sprintf(", tag %d", p.Tag)
	case Dot1qTunnel:
		return fmt.Sprintf(", outer tag %d", p.Tag)
	}
	return ""
}
