package vlan

import (
	"encoding/binary"
	"fmt"
)

// Tag protocol identifiers.
const (
	TPID8021Q  uint16 = 0x8100 // customer tag (C-tag)
	TPID8021AD uint16 = 0x88a8 // service tag (S-tag)
	TPIDQinQ   uint16 = 0x9100 // pre-standard QinQ, accepted on input
)

// Sizes in bytes.
const (
	EthHeaderSize = 14 // dst MAC, src MAC, ethertype
	TagSize       = 4  // TPID + TCI
	macsSize      = 12
)

// TCI bit fields.
const (
	VIDMask  uint16 = 0x0fff
	DEIBit   uint16 = 0x1000
	PCPShift        = 13
)

// Tag is one VLAN tag. TPID 0 means "no tag"; a zero Tag is the absence of
// a tag in a [2]Tag stack.
type Tag struct {
	TPID uint16
	TCI  uint16
}

// VID returns the 12-bit VLAN id.
func (t Tag) VID() uint16 { return t.TCI & VIDMask }

// PCP returns the 3-bit priority code point.
func (t Tag) PCP() uint8 { return uint8(t.TCI >> PCPShift) }

// Present reports whether t is a tag.
func (t Tag) Present() bool { return t.TPID != 0 }

// String formats the tag as "0x8100/vid=10,pcp=0", or "none".
func (t Tag) String() string {
	if !t.Present() {
		return "none"
	}
	return fmt.Sprintf("0x%04x/vid=%d,pcp=%d", t.TPID, t.VID(), t.PCP())
}

// MakeTCI builds a TCI from a priority and a VLAN id.
func MakeTCI(pcp uint8, vid uint16) uint16 {
	return uint16(pcp&7)<<PCPShift | vid&VIDMask
}

// IsTPID reports whether an ethertype value is a VLAN tag protocol id that
// the switch parses (802.1Q, 802.1ad, and 0x9100).
func IsTPID(v uint16) bool {
	return v == TPID8021Q || v == TPID8021AD || v == TPIDQinQ
}

// Parse reads up to two VLAN tags of an Ethernet frame, outermost first.
// n is how many tags it read and ethType is the ethertype that follows them
// (a third TPID when the frame has more than two tags). ok is false when
// the frame is shorter than an Ethernet header or a tag is cut short.
func Parse(frame []byte) (tags [2]Tag, n int, ethType uint16, ok bool) {
	if len(frame) < EthHeaderSize {
		return tags, 0, 0, false
	}
	off := macsSize
	ethType = binary.BigEndian.Uint16(frame[off:])
	for n < 2 && IsTPID(ethType) {
		if len(frame) < off+TagSize+2 {
			return tags, n, ethType, false
		}
		tags[n] = Tag{TPID: ethType, TCI: binary.BigEndian.Uint16(frame[off+2:])}
		n++
		off += TagSize
		ethType = binary.BigEndian.Uint16(frame[off:])
	}
	return tags, n, ethType, true
}

// InsertTag pushes tag (tpid, tci) in front of any existing tags. b must be
// the frame preceded by TagSize spare bytes (buf[start-4:end] for a frame at
// buf[start:end]); on success b itself is the new frame. It reports false,
// changing nothing, when b is too short to hold a frame with MACs.
func InsertTag(b []byte, tpid, tci uint16) bool {
	if len(b) < TagSize+macsSize {
		return false
	}
	copy(b[0:macsSize], b[TagSize:TagSize+macsSize])
	binary.BigEndian.PutUint16(b[macsSize:], tpid)
	binary.BigEndian.PutUint16(b[macsSize+2:], tci)
	return true
}

// RemoveTag pops the outermost tag of frame in place by moving the MAC
// addresses over it; the new frame is frame[TagSize:]. It reports false,
// changing nothing, when the frame has no tag.
func RemoveTag(frame []byte) bool {
	if len(frame) < EthHeaderSize+TagSize ||
		!IsTPID(binary.BigEndian.Uint16(frame[macsSize:])) {
		return false
	}
	copy(frame[TagSize:TagSize+macsSize], frame[0:macsSize])
	return true
}

// SetTCI rewrites the bits of the outermost tag's TCI selected by mask (0
// means all) to tci. It reports false when the frame has no tag.
func SetTCI(frame []byte, tci, mask uint16) bool {
	if len(frame) < EthHeaderSize+TagSize ||
		!IsTPID(binary.BigEndian.Uint16(frame[macsSize:])) {
		return false
	}
	if mask == 0 {
		mask = 0xffff
	}
	old := binary.BigEndian.Uint16(frame[macsSize+2:])
	binary.BigEndian.PutUint16(frame[macsSize+2:], old&^mask|tci&mask)
	return true
}

// AppendPush appends frame with tag (tpid, tci) pushed in front of its tags
// to dst and returns the result. It copies; the datapath uses InsertTag on
// the packet's headroom instead. A frame shorter than the two MACs is
// appended unchanged.
func AppendPush(dst, frame []byte, tpid, tci uint16) []byte {
	if len(frame) < macsSize {
		return append(dst, frame...)
	}
	dst = append(dst, frame[:macsSize]...)
	dst = binary.BigEndian.AppendUint16(dst, tpid)
	dst = binary.BigEndian.AppendUint16(dst, tci)
	return append(dst, frame[macsSize:]...)
}

// AppendPop appends frame without its outermost tag to dst. An untagged
// frame is appended unchanged.
func AppendPop(dst, frame []byte) []byte {
	if len(frame) < EthHeaderSize+TagSize ||
		!IsTPID(binary.BigEndian.Uint16(frame[macsSize:])) {
		return append(dst, frame...)
	}
	dst = append(dst, frame[:macsSize]...)
	return append(dst, frame[macsSize+TagSize:]...)
}
