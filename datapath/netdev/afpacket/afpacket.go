package afpacket

import (
	"log/slog"
	"strconv"
	"time"
)

// Defaults for Options. A block must hold the largest frame the kernel can
// hand over with PACKET_VNET_HDR (a 64 KiB GSO frame plus headers), so 256
// KiB blocks; 32 of them (8 MiB per port) absorb a burst of about 5,000
// 1500-byte frames or 60,000 minimum-size frames.
const (
	DefaultBlockSize    = 256 << 10
	DefaultBlockCount   = 32
	DefaultBlockTimeout = time.Millisecond
	DefaultPollTimeout  = 100 * time.Millisecond
)

// RxMode selects how a port receives.
type RxMode int

// Receive modes.
const (
	// RxRing walks a TPACKET_V3 mmapped ring: no system call while frames
	// are queued, so the cheapest per frame under load. At low rates the
	// kernel hands over a block only when it fills or BlockTimeout passes,
	// which adds up to that timeout (1 ms at least) of latency per hop.
	RxRing RxMode = iota
	// RxMmsg uses one recvmmsg per batch, as Open vSwitch's netdev-linux
	// does, with the VLAN tag from PACKET_AUXDATA: a system call per batch
	// but no added latency.
	RxMmsg
)

// String returns "ring" or "mmsg".
func (m RxMode) String() string {
	switch m {
	case RxRing:
		return "ring"
	case RxMmsg:
		return "mmsg"
	}
	return "RxMode(" + strconv.Itoa(int(m)) + ")"
}

// Options tune a port. The zero value gives the defaults.
type Options struct {
	// RxMode selects the receive path. Default RxRing.
	RxMode RxMode
	// BlockSize is the size of one RxRing block in bytes, a multiple of the
	// page size and at least 128 KiB. Default DefaultBlockSize.
	BlockSize int
	// BlockCount is the number of RxRing blocks. Default DefaultBlockCount.
	BlockCount int
	// BlockTimeout is how long the kernel fills a block before handing it to
	// user space when traffic is light (tp_retire_blk_tov, whole
	// milliseconds, at least 1). It bounds the latency TPACKET_V3 adds at
	// low rates. Default DefaultBlockTimeout.
	BlockTimeout time.Duration
	// PollTimeout is how long Recv waits for a frame before returning an
	// empty batch. Default DefaultPollTimeout.
	PollTimeout time.Duration
	// NoVnetHdr disables PACKET_VNET_HDR, as on a kernel without it (tests).
	NoVnetHdr bool
	// NoPromisc leaves the device's promiscuous mode alone.
	NoPromisc bool
	// Logger receives the one-time notices about refused offloads. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockCount <= 0 {
		o.BlockCount = DefaultBlockCount
	}
	if o.BlockTimeout <= 0 {
		o.BlockTimeout = DefaultBlockTimeout
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
