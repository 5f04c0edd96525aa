package offload

import (
	"encoding/binary"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Sizes of the virtio-net header (struct virtio_net_hdr and
// struct virtio_net_hdr_mrg_rxbuf in linux/virtio_net.h).
const (
	VnetHdrSize    = 10
	VnetHdrMrgSize = 12
)

// Virtio-net header flags (VIRTIO_NET_HDR_F_*).
const (
	FlagNeedsCsum uint8 = 1 // checksum from CsumStart to the end, store at CsumStart+CsumOffset
	FlagDataValid uint8 = 2 // receive only: the checksum was already verified
)

// Virtio-net GSO types (VIRTIO_NET_HDR_GSO_*).
const (
	GSONone  uint8 = 0
	GSOTCPv4 uint8 = 1
	GSOUDP   uint8 = 3 // UFO: IP fragmentation, not produced by current kernels
	GSOTCPv6 uint8 = 4
	GSOUDPL4 uint8 = 5 // USO: one UDP datagram per segment (Linux 6.2+ on TAP)
	GSOECN   uint8 = 0x80
)

// byteOrder is the header's byte order. AF_PACKET and TAP (without
// TUNSETVNETBE) use the legacy virtio rule, which is the host's native order:
// little-endian on x86 and arm64.
var byteOrder = binary.NativeEndian

// ParseVnetHdr decodes the first VnetHdrSize bytes of b. It reports false
// when b is too short. It does not judge the values; Checksum and Segment
// check them against the frame.
func ParseVnetHdr(b []byte) (packet.Offload, bool) {
	if len(b) < VnetHdrSize {
		return packet.Offload{}, false
	}
	return packet.Offload{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     byteOrder.Uint16(b[2:4]),
		GSOSize:    byteOrder.Uint16(b[4:6]),
		CsumStart:  byteOrder.Uint16(b[6:8]),
		CsumOffset: byteOrder.Uint16(b[8:10]),
	}, true
}

// EncodeVnetHdr writes off into the first VnetHdrSize bytes of b, and zeroes
// num_buffers when b has room for the 12-byte mergeable form. It reports
// false when b is too short.
func EncodeVnetHdr(b []byte, off packet.Offload) bool {
	if len(b) < VnetHdrSize {
		return false
	}
	b[0] = off.Flags
	b[1] = off.GSOType
	byteOrder.PutUint16(b[2:4], off.HdrLen)
	byteOrder.PutUint16(b[4:6], off.GSOSize)
	byteOrder.PutUint16(b[6:8], off.CsumStart)
	byteOrder.PutUint16(b[8:10], off.CsumOffset)
	if len(b) >= VnetHdrMrgSize {
		b[10], b[11] = 0, 0
	}
	return true
}

// IsGSO reports whether off describes a frame that must be segmented before
// a port without GSO support can send it.
func IsGSO(off packet.Offload) bool { return off.GSOType&^GSOECN != GSONone }

// NeedsCsum reports whether the frame's L4 checksum is still partial.
func NeedsCsum(off packet.Offload) bool { return off.Flags&FlagNeedsCsum != 0 }

// ShiftStart moves the header offsets in off by n bytes, for a provider that
// inserted (n > 0) or removed (n < 0) bytes in front of the L3 header, e.g.
// a VLAN tag restored from PACKET_AUXDATA. It reports false, changing
// nothing, when an offset would leave the uint16 range.
func ShiftStart(off *packet.Offload, n int) bool {
	cs, hl := int(off.CsumStart), int(off.HdrLen)
	if NeedsCsum(*off) {
		cs += n
	}
	if hl != 0 {
		hl += n
	}
	if cs < 0 || cs > 0xffff || hl < 0 || hl > 0xffff {
		return false
	}
	off.CsumStart, off.HdrLen = uint16(cs), uint16(hl)
	return true
}
