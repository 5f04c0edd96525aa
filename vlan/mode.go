package vlan

import "fmt"

// Mode is a port's VLAN mode, the Port table's vlan_mode column.
type Mode uint8

// Port VLAN modes, with Open vSwitch's semantics (ovs-vswitchd.conf.db(5)).
const (
	// Trunk: a frame is in the VLAN of its outer tag, or VLAN 0 when
	// untagged (or priority-tagged); frames in VLANs not in Trunks are
	// dropped. Output carries a tag unless the VLAN is 0.
	Trunk Mode = iota
	// Access: every frame is in VLAN Tag. Frames tagged with a non-zero
	// VID are dropped on input; output is untagged.
	Access
	// NativeTagged: untagged (and priority-tagged) input is in VLAN Tag,
	// tagged input as on a trunk; output is tagged, also in VLAN Tag.
	NativeTagged
	// NativeUntagged: as NativeTagged, but output in VLAN Tag is untagged.
	NativeUntagged
	// Dot1qTunnel: every frame is in service VLAN Tag; a service tag with
	// TPID QinQEthType is pushed on input in front of the customer tag (if
	// any) and popped on output. With CVLANs set, only frames whose
	// customer VID (0 when untagged) is in CVLANs pass.
	Dot1qTunnel
)

var modeNames = [...]string{
	Trunk: "trunk", Access: "access", NativeTagged: "native-tagged",
	NativeUntagged: "native-untagged", Dot1qTunnel: "dot1q-tunnel",
}

// String returns the mode as the vlan_mode column spells it.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses the vlan_mode column. An empty value means access when
// the port has a tag and trunk otherwise, as in Open vSwitch.
func ParseMode(s string, hasTag bool) (Mode, error) {
	if s == "" {
		if hasTag {
			return Access, nil
		}
		return Trunk, nil
	}
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return Trunk, fmt.Errorf("unknown vlan_mode %q", s)
}

// VIDSet is a set of VLAN ids. A nil VIDSet, or one whose Empty is true,
// stands for "every VLAN", as an empty trunks or cvlans column does.
// ofproto/xlate's *VLANSet satisfies it.
type VIDSet interface {
	Has(vid uint16) bool
	Empty() bool
}

// PortConfig is what the mode functions need to know about a port.
type PortConfig struct {
	Mode Mode
	// Tag is the tag column: the access VLAN, the native VLAN, or the
	// service VLAN of a dot1q-tunnel port. 0 means none.
	Tag uint16
	// Trunks is the trunks column (nil or empty = all VLANs). Native modes
	// always trunk Tag and never VLAN 0.
	Trunks VIDSet
	// CVLANs is the cvlans column of a dot1q-tunnel port (nil or empty =
	// all customer VLANs).
	CVLANs VIDSet
	// QinQEthType is the TPID pushed by a dot1q-tunnel port
	// (other_config:qinq-ethtype): TPID8021AD (the default when 0) or
	// TPID8021Q.
	QinQEthType uint16
	// PriorityTags is other_config:priority-tags: whether a frame that
	// leaves untagged gets a priority tag (VID 0) carrying its PCP.
	PriorityTags PriorityTags
}

// PriorityTags says when Egress adds a priority tag (VID 0) to a frame that
// would leave the port untagged, to keep its 802.1p priority.
type PriorityTags uint8

// PriorityTags values, as other_config:priority-tags spells them.
const (
	PriorityTagsNever     PriorityTags = iota // "never" (the default)
	PriorityTagsIfNonzero                     // "if-nonzero": only when the PCP is not 0
	PriorityTagsAlways                        // "always"
)

// ParsePriorityTags parses other_config:priority-tags; "" and unknown
// values mean never, as in Open vSwitch (which also accepts "false" for
// never and "true" for if-nonzero, from older releases).
func ParsePriorityTags(s string) PriorityTags {
	switch s {
	case "if-nonzero", "true":
		return PriorityTagsIfNonzero
	case "always":
		return PriorityTagsAlways
	}
	return PriorityTagsNever
}

func allows(s VIDSet, vid uint16) bool {
	return s == nil || s.Empty() || s.Has(vid)
}

func (c *PortConfig) trunks(vid uint16) bool {
	switch c.Mode {
	case Trunk:
		return allows(c.Trunks, vid)
	case NativeTagged, NativeUntagged:
		if c.Tag != 0 {
			if vid == c.Tag {
				return true
			}
			if vid == 0 {
				return false
			}
		}
		return allows(c.Trunks, vid)
	}
	return false
}

// Includes reports whether frames in switch VLAN vid may leave through the
// port (Open vSwitch's "xbundle includes vlan").
func (c *PortConfig) Includes(vid uint16) bool {
	switch c.Mode {
	case Access, Dot1qTunnel:
		return vid == c.Tag
	default:
		return c.trunks(vid)
	}
}

// Ingress decides which VLAN a frame arriving on the port belongs to inside
// the switch. frame is the frame's tag stack as Parse returns it (outer
// first, zero Tags for missing ones). The result xv is the switch's view:
// xv[0] is the VLAN the frame is switched in (absent, TPID 0, for VLAN 0)
// and xv[1] an inner tag carried along (the customer tag on dot1q-tunnel
// ports, or the frame's second tag on trunks). ok is false when the port
// must drop the frame.
//
// Priority-tagged frames (VID 0) count as untagged; their PCP is kept.
func Ingress(c *PortConfig, frame [2]Tag) (xv [2]Tag, ok bool) {
	outer := frame[0]
	vid := outer.VID()
	untagged := !outer.Present() || vid == 0
	switch c.Mode {
	case Access:
		if !untagged {
			return xv, false
		}
		if c.Tag != 0 {
			xv[0] = Tag{TPID: TPID8021Q, TCI: MakeTCI(outer.PCP(), c.Tag)}
		}
		return xv, true
	case Trunk:
		if !c.trunks(vid) {
			return xv, false
		}
		if untagged {
			return xv, true
		}
		return frame, true
	case NativeTagged, NativeUntagged:
		if untagged {
			if c.Tag != 0 {
				xv[0] = Tag{TPID: TPID8021Q, TCI: MakeTCI(outer.PCP(), c.Tag)}
			}
			return xv, true
		}
		if !c.trunks(vid) {
			return xv, false
		}
		return frame, true
	case Dot1qTunnel:
		cvid := uint16(0)
		if outer.Present() {
			cvid = vid
		}
		if !allows(c.CVLANs, cvid) {
			return xv, false
		}
		xv[0] = Tag{TPID: c.qinqType(), TCI: MakeTCI(0, c.Tag)}
		xv[1] = outer
		return xv, true
	}
	return xv, false
}

func (c *PortConfig) qinqType() uint16 {
	if c.QinQEthType == 0 {
		return TPID8021AD
	}
	return c.QinQEthType
}

// Egress decides which tags a frame in switch VLAN stack xv (as Ingress
// returned it) carries when it leaves through the port. ok is false when
// the port does not carry the frame's VLAN (or, on a dot1q-tunnel port, its
// customer VLAN).
func Egress(c *PortConfig, xv [2]Tag) (out [2]Tag, ok bool) {
	vid := uint16(0)
	if xv[0].Present() {
		vid = xv[0].VID()
	}
	if !c.Includes(vid) {
		return out, false
	}
	strip := false
	switch c.Mode {
	case Access:
		strip = true
	case Trunk:
		strip = vid == 0
	case NativeTagged:
		strip = vid == 0
	case NativeUntagged:
		strip = vid == c.Tag || vid == 0
	case Dot1qTunnel:
		cvid := uint16(0)
		if xv[1].Present() {
			cvid = xv[1].VID()
		}
		if !allows(c.CVLANs, cvid) {
			return out, false
		}
		strip = true
	}
	if !strip {
		return xv, true
	}
	out = [2]Tag{xv[1], {}}
	if !xv[0].Present() {
		// Nothing to strip: a VLAN 0 frame may still carry an inner tag.
		out = xv
	}
	if !out[0].Present() {
		pcp := xv[0].PCP()
		if c.PriorityTags == PriorityTagsAlways || (c.PriorityTags == PriorityTagsIfNonzero && pcp != 0) {
			out[0] = Tag{TPID: TPID8021Q, TCI: MakeTCI(pcp, 0)}
		}
	}
	return out, true
}

// EditKind is one tag operation.
type EditKind uint8

// Edit kinds.
const (
	EditPop  EditKind = iota + 1 // remove the outer tag
	EditPush                     // push Tag in front
	EditSet                      // rewrite the outer tag's TCI (TPID unchanged)
)

// Edit is one operation of Edits' result.
type Edit struct {
	Kind EditKind
	Tag  Tag // for EditPush and EditSet
}

// String formats the edit as "pop", "push(0x8100/vid=10,pcp=0)" or
// "set(...)".
func (e Edit) String() string {
	switch e.Kind {
	case EditPop:
		return "pop"
	case EditPush:
		return "push(" + e.Tag.String() + ")"
	case EditSet:
		return "set(" + e.Tag.String() + ")"
	}
	return fmt.Sprintf("Edit(%d)", e.Kind)
}

// Edits appends to dst the operations that turn a frame carrying tag stack
// have into one carrying want (both outer first) and returns dst. It keeps
// tags that already match, rewrites an outer tag with the same TPID in
// place, and otherwise pops and pushes. With dst of capacity 4 it does not
// allocate.
func Edits(dst []Edit, have, want [2]Tag) []Edit {
	if have == want {
		return dst
	}
	nh, nw := depth(have), depth(want)
	// Same depth and same inner tag: at most one rewrite of the outer tag.
	if nh == nw && nh > 0 && have[1] == want[1] {
		if have[0].TPID == want[0].TPID {
			return append(dst, Edit{Kind: EditSet, Tag: want[0]})
		}
		return append(dst, Edit{Kind: EditPop}, Edit{Kind: EditPush, Tag: want[0]})
	}
	// want = have with one tag pushed.
	if nw == nh+1 && (nh == 0 || have[0] == want[1]) {
		return append(dst, Edit{Kind: EditPush, Tag: want[0]})
	}
	// want = have with the outer tag popped.
	if nh == nw+1 && (nw == 0 || have[1] == want[0]) {
		return append(dst, Edit{Kind: EditPop})
	}
	for i := 0; i < nh; i++ {
		dst = append(dst, Edit{Kind: EditPop})
	}
	for i := nw - 1; i >= 0; i-- {
		dst = append(dst, Edit{Kind: EditPush, Tag: want[i]})
	}
	return dst
}

func depth(t [2]Tag) int {
	switch {
	case !t[0].Present():
		return 0
	case !t[1].Present():
		return 1
	}
	return 2
}
