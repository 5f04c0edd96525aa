package xlate

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/gvswitch/gvswitch/vlan"
)

// LocalPort is the OpenFlow port number of a bridge's own internal
// interface (OFPP_LOCAL). fdb/show prints it as "LOCAL".
const LocalPort uint32 = 65534

// MAC table defaults and clamps, as Open vSwitch 3.1 documents them for
// Bridge other_config:mac-aging-time and mac-table-size
// (ovs-vswitchd.conf.db(5)).
const (
	DefaultMACAgingTime = 300 * time.Second
	MinMACAgingTime     = 15 * time.Second
	MaxMACAgingTime     = 3600 * time.Second
	DefaultMACTableSize = 8192
	MinMACTableSize     = 10
	MaxMACTableSize     = 1000000
)

// DefaultQinQEthType is the outer tag protocol pushed by dot1q-tunnel ports
// when Port other_config:qinq-ethtype is absent (802.1ad S-tag).
const DefaultQinQEthType uint16 = 0x88a8

// Config is an immutable snapshot of everything translation needs. The
// vswitchd layer builds a new Config from OVSDB rows on every change and hands
// it to (*Xlate).Publish; after that nobody may modify it (or anything it
// points to). Upcall handlers read it without locks.
type Config struct {
	// Bridges by name.
	Bridges map[string]*Bridge
}

// Bridge is one bridge of the snapshot.
type Bridge struct {
	// Name is the Bridge row's name.
	Name string
	// Ports by OpenFlow port number (Port.OFPort). The bridge's internal
	// port, when present, has OFPort LocalPort.
	Ports map[uint32]*Port
	// FloodVLANs is Bridge flood_vlans: in these VLANs nothing is learned
	// and every frame is flooded.
	FloodVLANs VLANSet
	// MACAgingTime is other_config:mac-aging-time (0 means the default,
	// 300 s; other values are clamped to 15..3600 s as OVS does).
	MACAgingTime time.Duration
	// MACTableSize is other_config:mac-table-size (0 means the default,
	// 8192; other values are clamped to 10..1,000,000 as OVS does).
	MACTableSize int
	// ForwardBPDU is other_config:forward-bpdu. When false (the default)
	// frames to reserved multicast MACs (01:80:c2:00:00:0x and friends)
	// are dropped by NORMAL.
	ForwardBPDU bool
}

// Port is one port of a bridge. gvswitch has no bonds yet: a port has
// exactly one interface, and its ofport and datapath port are the port's.
type Port struct {
	// Name is the Port row's name (also used for the interface when
	// Interface is empty).
	Name string
	// Interface is the Interface row's name, when it differs from Name.
	Interface string
	// OFPort is the interface's OpenFlow port number (Interface.ofport).
	OFPort uint32
	// DPPort is the datapath port number frames arrive on and leave by.
	// Patch ports have no datapath port; it is ignored for them.
	DPPort uint32
	// Patch is options:peer of an interface of type "patch": the name of
	// the peer interface, in another bridge, whose Patch names this one.
	// Output to a patch port continues translation in the peer's bridge.
	Patch string

	// VLANMode is the effective mode; use ParseVLANMode to turn the
	// vlan_mode column (which may be empty) into one.
	VLANMode VLANMode
	// Tag is the tag column (the access VLAN, native VLAN or outer tunnel
	// VLAN). 0 also stands for "no tag", as in OVS.
	Tag uint16
	// Trunks is the trunks column. Empty means every VLAN.
	Trunks VLANSet
	// CVLANs is the cvlans column of dot1q-tunnel ports. Empty means every
	// customer VLAN.
	CVLANs VLANSet
	// QinQEthType is other_config:qinq-ethtype as a TPID (0x88a8 or
	// 0x8100). 0 means DefaultQinQEthType.
	QinQEthType uint16

	// Down is true when the port must not carry traffic: the interface is
	// administratively down or its link is down. NORMAL neither accepts
	// frames from nor sends frames to such a port.
	Down bool
}

// InterfaceName returns the name of the port's interface.
func (p *Port) InterfaceName() string {
	if p.Interface != "" {
		return p.Interface
	}
	return p.Name
}

// VLANMode is a port's 802.1Q mode (Port vlan_mode). It is the vlan
// package's Mode, so that the vswitchd layer can use either name.
type VLANMode = vlan.Mode

// The port VLAN modes. See ovs-vswitchd.conf.db(5), Port vlan_mode, and
// the vlan package.
const (
	// Trunk carries every VLAN in Trunks (all when empty), tagged;
	// untagged frames belong to VLAN 0.
	Trunk = vlan.Trunk
	// Access carries the single VLAN Tag, untagged. Tagged frames are
	// dropped on input.
	Access = vlan.Access
	// NativeTagged is a trunk whose untagged input belongs to Tag; output
	// in Tag is tagged.
	NativeTagged = vlan.NativeTagged
	// NativeUntagged is a trunk whose untagged input belongs to Tag; output
	// in Tag is untagged.
	NativeUntagged = vlan.NativeUntagged
	// Dot1qTunnel pushes an outer (service) tag Tag on input, whatever the
	// frame carries (customer VLANs filtered by CVLANs), and pops it on
	// output.
	Dot1qTunnel = vlan.Dot1qTunnel
)

// ParseVLANMode turns the Port vlan_mode column into a mode. An empty column
// means access when the port has a tag and trunk otherwise, as in OVS.
func ParseVLANMode(s string, hasTag bool) (VLANMode, error) { return vlan.ParseMode(s, hasTag) }

// VLANSet is a set of 12-bit VLAN IDs (0..4095) as a bitmap. The zero value
// is the empty set. It is a value type: 512 bytes, no allocation.
type VLANSet struct {
	w [4096 / 64]uint64
}

// NewVLANSet returns a set holding vids; IDs above 4095 are ignored.
func NewVLANSet(vids ...int) VLANSet {
	var s VLANSet
	for _, v := range vids {
		if v >= 0 && v < 4096 {
			s.Add(uint16(v))
		}
	}
	return s
}

// Add puts vid (masked to 12 bits) in the set.
func (s *VLANSet) Add(vid uint16) {
	vid &= 0xfff
	s.w[vid>>6] |= 1 << (vid & 63)
}

// Remove takes vid out of the set.
func (s *VLANSet) Remove(vid uint16) {
	vid &= 0xfff
	s.w[vid>>6] &^= 1 << (vid & 63)
}

// Has reports whether vid is in the set.
func (s *VLANSet) Has(vid uint16) bool {
	vid &= 0xfff
	return s.w[vid>>6]&(1<<(vid&63)) != 0
}

// Empty reports whether the set holds nothing.
func (s *VLANSet) Empty() bool {
	for _, w := range s.w {
		if w != 0 {
			return false
		}
	}
	return true
}

// Len returns the number of VLANs in the set.
func (s *VLANSet) Len() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// String formats the set as a sorted comma-separated list ("10,20,30").
func (s VLANSet) String() string {
	var b strings.Builder
	for v := 0; v < 4096; v++ {
		if s.Has(uint16(v)) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", v)
		}
	}
	return b.String()
}

// agingTime returns the bridge's effective MAC aging time.
func (b *Bridge) agingTime() time.Duration {
	switch {
	case b.MACAgingTime <= 0:
		return DefaultMACAgingTime
	case b.MACAgingTime < MinMACAgingTime:
		return MinMACAgingTime
	case b.MACAgingTime > MaxMACAgingTime:
		return MaxMACAgingTime
	}
	return b.MACAgingTime
}

// tableSize returns the bridge's effective MAC table size.
func (b *Bridge) tableSize() int {
	switch {
	case b.MACTableSize <= 0:
		return DefaultMACTableSize
	case b.MACTableSize < MinMACTableSize:
		return MinMACTableSize
	case b.MACTableSize > MaxMACTableSize:
		return MaxMACTableSize
	}
	return b.MACTableSize
}
