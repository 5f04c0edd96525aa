package offload

import (
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Ethernet types and IP protocol numbers Segment needs.
const (
	etherTypeIPv4  = 0x0800
	etherTypeIPv6  = 0x86dd
	etherTypeVLAN  = 0x8100
	etherTypeQinQ  = 0x88a8
	ethHdrSize     = 14
	ipv4MinHdrSize = 20
	ipv6HdrSize    = 40
	tcpMinHdrSize  = 20
	udpHdrSize     = 8
	maxVLANTags    = 2
)

// IP protocol numbers found in Headers.Proto.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// TCP flags that only the first or the last segment keeps.
const (
	tcpFlagFIN = 0x01
	tcpFlagPSH = 0x08
	tcpFlagCWR = 0x80
)

// Headers locates the L3 and L4 headers of an Ethernet frame with up to two
// VLAN tags. It is exported for providers that must know where the payload
// starts; it reports false for anything but IPv4/IPv6 carrying TCP or UDP.
type Headers struct {
	L3, L4, Payload int // offsets in the frame
	IPv6            bool
	Proto           uint8 // ProtoTCP or ProtoUDP
}

// ParseHeaders finds the headers of frame. csumStart, when beyond the fixed
// IPv6 header, is taken as the L4 offset (it skips extension headers the
// parser does not walk), and proto (ProtoTCP or ProtoUDP) says what that L4
// header is; with proto 0 such a frame is refused.
func ParseHeaders(frame []byte, csumStart int, proto uint8) (Headers, bool) {
	var h Headers
	if len(frame) < ethHdrSize {
		return h, false
	}
	l3 := 12
	et := int(be.Uint16(frame[l3:]))
	for i := 0; (et == etherTypeVLAN || et == etherTypeQinQ) && i < maxVLANTags; i++ {
		l3 += 4
		if len(frame) < l3+2 {
			return h, false
		}
		et = int(be.Uint16(frame[l3:]))
	}
	l3 += 2
	h.L3 = l3
	switch et {
	case etherTypeIPv4:
		if len(frame) < l3+ipv4MinHdrSize || frame[l3]>>4 != 4 {
			return h, false
		}
		ihl := int(frame[l3]&0x0f) * 4
		if ihl < ipv4MinHdrSize {
			return h, false
		}
		h.L4 = l3 + ihl
		h.Proto = frame[l3+9]
	case etherTypeIPv6:
		if len(frame) < l3+ipv6HdrSize || frame[l3]>>4 != 6 {
			return h, false
		}
		h.IPv6 = true
		h.L4 = l3 + ipv6HdrSize
		h.Proto = frame[l3+6]
		if csumStart > h.L4 {
			// Extension headers: trust the kernel's csum_start and the
			// caller's protocol rather than walking the chain.
			h.L4 = csumStart
			h.Proto = proto
		}
	default:
		return h, false
	}
	if h.L4 > len(frame) {
		return h, false
	}
	switch h.Proto {
	case ProtoTCP:
		if len(frame) < h.L4+tcpMinHdrSize {
			return h, false
		}
		doff := int(frame[h.L4+12]>>4) * 4
		if doff < tcpMinHdrSize || len(frame) < h.L4+doff {
			return h, false
		}
		h.Payload = h.L4 + doff
	case ProtoUDP:
		if len(frame) < h.L4+udpHdrSize {
			return h, false
		}
		h.Payload = h.L4 + udpHdrSize
	default:
		return h, false
	}
	return h, true
}

// Segment splits the GSO frame described by off into frames carrying at most
// off.GSOSize bytes of L4 payload each, as the kernel's TSO/USO would: every
// segment gets the full headers with its own IPv4 total length and ID (the
// first segment keeps the original ID, then +1 each) or IPv6 payload length,
// its own TCP sequence number (FIN and PSH only on the last segment, CWR
// only on the first) or UDP length, and complete IPv4, TCP and UDP
// checksums. A frame that is not GSO but has FlagNeedsCsum comes out as one
// frame with its checksum finished.
//
// Each segment is built in scratch and passed to out, which must not keep
// the slice: the next segment overwrites it. When scratch is shorter than
// one segment Segment allocates a buffer (once per call). frame is not
// modified. Segment returns the number of segments emitted, or false for a
// frame it cannot parse or a GSO type it does not handle (GSOUDP, IP
// fragmentation, is not handled); nothing is emitted in that case.
func Segment(frame []byte, off packet.Offload, scratch []byte, out func(seg []byte)) (int, bool) {
	gso := off.GSOType &^ GSOECN
	if gso == GSONone {
		seg := scratch
		if len(seg) < len(frame) {
			seg = make([]byte, len(frame))
		}
		seg = seg[:len(frame)]
		copy(seg, frame)
		if !Checksum(seg, off) {
			return 0, false
		}
		out(seg)
		return 1, true
	}
	var cs int
	if off.Flags&FlagNeedsCsum != 0 {
		cs = int(off.CsumStart)
	}
	proto := uint8(ProtoTCP)
	if gso == GSOUDPL4 {
		proto = ProtoUDP
	}
	h, ok := ParseHeaders(frame, cs, proto)
	if !ok {
		return 0, false
	}
	switch gso {
	case GSOTCPv4:
		if h.IPv6 || h.Proto != ProtoTCP {
			return 0, false
		}
	case GSOTCPv6:
		if !h.IPv6 || h.Proto != ProtoTCP {
			return 0, false
		}
	case GSOUDPL4:
		if h.Proto != ProtoUDP {
			return 0, false
		}
	default:
		return 0, false
	}
	mss := int(off.GSOSize)
	if mss == 0 {
		return 0, false
	}
	hdr := frame[:h.Payload]
	payload := frame[h.Payload:]
	segMax := len(hdr) + min(mss, len(payload))
	if len(scratch) < segMax {
		scratch = make([]byte, segMax)
	}
	var (
		ipID  uint16
		seq   uint32
		flags byte
	)
	if !h.IPv6 {
		ipID = be.Uint16(frame[h.L3+4:])
	}
	if h.Proto == ProtoTCP {
		seq = be.Uint32(frame[h.L4+4:])
		flags = frame[h.L4+13]
	}
	n := 0
	for first := true; first || len(payload) > 0; first = false {
		chunk := min(mss, len(payload))
		last := chunk == len(payload)
		seg := scratch[:len(hdr)+chunk]
		copy(seg, hdr)
		copy(seg[len(hdr):], payload[:chunk])
		payload = payload[chunk:]
		fixSegment(seg, h, ipID+uint16(n), seq+uint32(n*mss), flags, first, last)
		out(seg)
		n++
	}
	return n, true
}

// fixSegment rewrites lengths, IDs, sequence numbers, flags and checksums of
// one segment whose headers were copied from the GSO frame.
func fixSegment(seg []byte, h Headers, ipID uint16, seq uint32, flags byte, first, last bool) {
	l4Size := len(seg) - h.L4
	var src, dst []byte
	if h.IPv6 {
		ip := seg[h.L3:]
		be.PutUint16(ip[4:], uint16(len(seg)-h.L3-ipv6HdrSize))
		src, dst = ip[8:24], ip[24:40]
	} else {
		ip := seg[h.L3:h.L4]
		be.PutUint16(ip[2:], uint16(len(seg)-h.L3))
		be.PutUint16(ip[4:], ipID)
		ip[10], ip[11] = 0, 0
		be.PutUint16(ip[10:], ^Fold(Sum(ip, 0)))
		src, dst = ip[12:16], ip[16:20]
	}
	l4 := seg[h.L4:]
	var csumOff int
	if h.Proto == ProtoTCP {
		be.PutUint32(l4[4:], seq)
		f := flags
		if !last {
			f &^= tcpFlagFIN | tcpFlagPSH
		}
		if !first {
			f &^= tcpFlagCWR
		}
		l4[13] = f
		csumOff = 16
	} else {
		be.PutUint16(l4[4:], uint16(l4Size))
		csumOff = 6
	}
	l4[csumOff], l4[csumOff+1] = 0, 0
	c := ^Fold(Sum(l4, PseudoHeaderSum(src, dst, h.Proto, l4Size)))
	if c == 0 {
		c = 0xffff
	}
	be.PutUint16(l4[csumOff:], c)
}
