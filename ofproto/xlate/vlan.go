package xlate

import "github.com/gvswitch/gvswitch/datapath"

// VLAN handling: Open vSwitch's input_vid_is_valid, xvlan_input_translate,
// xbundle_includes_vlan and xvlan_output_translate on a small tag stack that
// never allocates.
//
// The vlan package has the same mode rules as pure functions on [2]Tag
// values; they are not used here because the megaflow mask must record
// which bits of the frame's tags each decision read (a tag's provenance:
// the frame's own tag or one the switch pushed), and because patch ports
// can stack more than two tags. The tests check this code against vlan's
// Ingress/Egress for every pair of modes.
//
// A stack describes the tags in front of the rest of the frame, outermost
// first. The rest starts after the frame's original outer tag (the key's
// VLAN[0]) when it had one; a tag marked orig *is* that original tag, so
// keeping it costs no action and the flow's VLAN bits matter only where
// they are read.

// maxTags bounds the stack: two for a dot1q-tunnel push on a tagged frame,
// more only through chains of tunnel ports across patch ports.
const maxTags = 4

// vtag is one tag of a stack.
type vtag struct {
	tpid, tci uint16
	orig      bool // the frame's original outer tag (key.VLAN[0])
}

func (t vtag) vid() uint16 { return t.tci & 0x0fff }

func (t vtag) same(u vtag) bool {
	if t.orig || u.orig {
		return t.orig && u.orig
	}
	return t.tpid == u.tpid && t.tci == u.tci
}

// stack is a fixed-size tag stack; t[0] is the outermost tag.
type stack struct {
	t [maxTags]vtag
	n int
}

// vlan returns the stack's VLAN: the outer VID, or 0 when untagged.
func (s *stack) vlan() uint16 {
	if s.n == 0 {
		return 0
	}
	return s.t[0].vid()
}

// pushFront adds a tag in front; false when the stack is full.
func (s *stack) pushFront(t vtag) bool {
	if s.n == maxTags {
		return false
	}
	copy(s.t[1:s.n+1], s.t[:s.n])
	s.t[0] = t
	s.n++
	return true
}

// popFront removes the outer tag, if any.
func (s *stack) popFront() {
	if s.n == 0 {
		return
	}
	copy(s.t[:s.n-1], s.t[1:s.n])
	s.n--
	s.t[s.n] = vtag{}
}

// origStack returns the stack of a frame with key k.
func origStack(k *datapath.FlowKey) stack {
	var s stack
	if k.VLAN[0].Present() {
		s.t[0] = vtag{tpid: k.VLAN[0].TPID, tci: k.VLAN[0].TCI, orig: true}
		s.n = 1
	}
	return s
}

// vlanVerdict is the reason an input frame is refused, for traces.
type vlanVerdict uint8

const (
	vlanOK vlanVerdict = iota
	vlanTaggedOnAccess
	vlanDoubleTaggedOnAccess
	vlanNotTrunked
	vlanCVLANExcluded
)

// inputVLAN classifies a frame entering port p with tags s: it returns the
// logical stack (whose outer VID is the frame's VLAN in the bridge) or a
// refusal. hasInner reports whether a tag follows s's last tag in the
// frame; it is consulted only for priority-tagged frames on access ports.
// usedPCP is set when the result copies the frame's PCP into a new tag.
func inputVLAN(p *xport, s stack, hasInner func() bool) (l stack, usedPCP bool, v vlanVerdict) {
	vid := s.vlan()
	cfg := p.cfg
	switch cfg.VLANMode {
	case Access:
		if vid != 0 {
			return s, false, vlanTaggedOnAccess
		}
		if s.n > 1 || (s.n == 1 && hasInner()) {
			return s, false, vlanDoubleTaggedOnAccess
		}
		return replaceOuter(s, cfg.Tag)
	case NativeTagged, NativeUntagged:
		if vid == 0 {
			return replaceOuter(s, cfg.Tag)
		}
		if !p.trunks.Has(vid) {
			return s, false, vlanNotTrunked
		}
		return s, false, vlanOK
	case Dot1qTunnel:
		if !cfg.CVLANs.Empty() && !cfg.CVLANs.Has(vid) {
			return s, false, vlanCVLANExcluded
		}
		if !s.pushFront(vtag{tpid: p.qinq, tci: cfg.Tag}) {
			return s, false, vlanNotTrunked
		}
		return s, false, vlanOK
	default: // Trunk
		if !p.trunks.Has(vid) {
			return s, false, vlanNotTrunked
		}
		return s, false, vlanOK
	}
}

// replaceOuter gives an untagged or priority-tagged frame the VLAN vid,
// keeping a priority tag's TPID and PCP as OVS does.
func replaceOuter(s stack, vid uint16) (stack, bool, vlanVerdict) {
	if s.n == 0 {
		s.t[0] = vtag{tpid: datapath.EthTypeVLAN, tci: vid}
		s.n = 1
		return s, false, vlanOK
	}
	old := s.t[0]
	s.t[0] = vtag{tpid: old.tpid, tci: old.tci&0xe000 | vid}
	return s, old.orig, vlanOK
}

// outputVLAN returns the tags a frame with logical stack l carries when it
// leaves by port p (OVS's xvlan_output_translate and xvlan_put): access
// ports send it untagged, dot1q-tunnel ports pop the service tag,
// native-untagged ports pop their native VLAN's tag, and an outer tag with
// VID 0 and PCP 0 is not sent (VLAN 0 leaves untagged; a priority tag
// survives). readPCP reports that the decision read the PCP of the
// frame's own tag.
func outputVLAN(p *xport, l stack) (out stack, readPCP bool) {
	switch p.cfg.VLANMode {
	case Access:
		return stack{}, false
	case Dot1qTunnel:
		l.popFront()
	case NativeUntagged:
		if l.n > 0 && l.t[0].vid() == p.cfg.Tag {
			l.popFront()
		}
	}
	if l.n > 0 && l.t[0].vid() == 0 {
		readPCP = l.t[0].orig
		if l.t[0].tci&0xe000 == 0 {
			l.popFront()
		}
	}
	return l, readPCP
}

// carries reports whether a frame with logical tags l may leave by port p:
// OVS's xbundle_includes_vlan. An access port takes no frame that carries a
// customer tag the switch pushed a service tag over (from a dot1q-tunnel
// port), and a dot1q-tunnel port applies its cvlans filter to the tag
// inside the service tag, reading the frame's second tag when that is it.
func (c *ctx) carries(p *xport, l *stack) bool {
	if !p.includesVLAN(l.vlan()) {
		return false
	}
	switch p.cfg.VLANMode {
	case Access:
		return l.n < 2 || l.t[1].vid() == 0
	case Dot1qTunnel:
		if p.cfg.CVLANs.Empty() {
			return true
		}
		inner := uint16(0)
		switch {
		case l.n > 1:
			inner = l.t[1].vid()
		case l.n == 1 && l.t[0].orig:
			c.mask.VLAN[1].TPID = datapath.ExactU16
			c.mask.VLAN[1].TCI |= 0x0fff
			if c.key.VLAN[1].Present() {
				inner = c.key.VLAN[1].VID()
			}
		}
		return p.cfg.CVLANs.Has(inner)
	}
	return true
}
