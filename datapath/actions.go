package datapath

import (
	"fmt"
	"strconv"
	"strings"
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

	// Reserved for later: tunnel push/pop carry a header template in Data,
	// set-field carries a key and mask in Data, meter carries the id in Port.
	ActTunnelPush
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
	default:
		return a.Kind.String()
	}
}
