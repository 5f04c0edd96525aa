package offload

import (
	"strings"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Caps is the set of offloads a port negotiated with the kernel when it
// opened. Providers probe once and keep the result; it never changes while
// the port lives.
type Caps uint32

// Capability bits.
const (
	CapVnetHdr Caps = 1 << iota // frames carry a virtio-net header
	CapCsum                     // the port takes NEEDS_CSUM frames (TUN_F_CSUM)
	CapTSO4                     // the port takes TCPv4 GSO frames (TUN_F_TSO4)
	CapTSO6                     // the port takes TCPv6 GSO frames (TUN_F_TSO6)
	CapTSOECN                   // the port takes GSO frames with the ECN bit (TUN_F_TSO_ECN)
	CapUSO                      // the port takes UDP L4 GSO frames (TUN_F_USO4|TUN_F_USO6)
	CapUFO                      // the port takes UFO frames (GSOUDP), which the kernel fragments
)

// CapsAll is what an AF_PACKET socket with PACKET_VNET_HDR accepts: the
// kernel segments or checksums on the way out when the device cannot.
const CapsAll = CapVnetHdr | CapCsum | CapTSO4 | CapTSO6 | CapTSOECN | CapUSO | CapUFO

var capNames = [...]string{"vnet_hdr", "csum", "tso4", "tso6", "tso_ecn", "uso", "ufo"}

// Has reports whether every bit of x is in c.
func (c Caps) Has(x Caps) bool { return c&x == x }

// String lists the bits, e.g. "vnet_hdr|csum|tso4", or "none".
func (c Caps) String() string {
	if c == 0 {
		return "none"
	}
	var parts []string
	for i, n := range capNames {
		if c&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := c &^ (1<<len(capNames) - 1); rest != 0 {
		parts = append(parts, "unknown")
	}
	return strings.Join(parts, "|")
}

// Accepts reports whether a port with caps c can send a frame with offload
// off unchanged (header and all). When it reports false the sender must
// finish the frame in software: Segment for GSO, Checksum otherwise.
func (c Caps) Accepts(off packet.Offload) bool {
	if off.Flags&FlagNeedsCsum != 0 && !c.Has(CapVnetHdr|CapCsum) {
		return false
	}
	gso := off.GSOType &^ GSOECN
	if gso != GSONone && off.GSOType&GSOECN != 0 && !c.Has(CapTSOECN) {
		return false
	}
	switch gso {
	case GSONone:
		return true
	case GSOTCPv4:
		return c.Has(CapVnetHdr | CapTSO4)
	case GSOTCPv6:
		return c.Has(CapVnetHdr | CapTSO6)
	case GSOUDPL4:
		return c.Has(CapVnetHdr | CapUSO)
	case GSOUDP:
		return c.Has(CapVnetHdr | CapUFO)
	}
	return false
}

// RefusedError records an offload a provider asked the kernel for and did
// not get; the provider carries on without it. It unwraps to the kernel's
// error.
type RefusedError struct {
	Feature string // e.g. "PACKET_VNET_HDR", "TUNSETOFFLOAD"
	Err     error
}

func (e *RefusedError) Error() string { return e.Feature + " refused: " + e.Err.Error() }

// Unwrap returns the kernel's error.
func (e *RefusedError) Unwrap() error { return e.Err }
