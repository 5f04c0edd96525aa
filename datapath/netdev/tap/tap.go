package tap

import (
	"log/slog"
	"net"
	"time"
)

// DefaultPollTimeout is how long Recv waits for a frame before returning an
// empty batch.
const DefaultPollTimeout = 100 * time.Millisecond

// DefaultIdlePollTimeout is the longest wait of an idle port's Recv.
const DefaultIdlePollTimeout = 5 * time.Second

// Options configure a TAP port. The zero value is a TAP with virtio-net
// headers and every offload the kernel accepts, a kernel-chosen MAC and the
// default MTU.
type Options struct {
	// MAC is the device's address; nil keeps the kernel's random one.
	MAC net.HardwareAddr
	// MTU is the device's MTU; 0 keeps the kernel default (1500).
	MTU int
	// Down leaves a created device administratively down, as Open vSwitch
	// creates internal ports: it sends nothing (no IPv6 router
	// solicitation or MLD report) until the administrator brings it up.
	// Frames sent to a down device are dropped. The zero value brings it
	// up. Open ignores it.
	Down bool
	// NoVnetHdr opens the device without IFF_VNET_HDR: plain frames, no
	// offloads (GSO frames sent to it are segmented in software).
	NoVnetHdr bool
	// Persist makes a created device outlive the descriptor
	// (TUNSETPERSIST) until Close, so that a crash leaves it in place.
	Persist bool
	// PollTimeout bounds how long Recv blocks. Default DefaultPollTimeout.
	PollTimeout time.Duration
	// IdlePollTimeout bounds the back-off of an idle port's wait: after ten
	// empty waits in a row each further one doubles, up to this; the
	// first frame resets it to PollTimeout. A frame or Close ends any wait
	// at once. Default DefaultIdlePollTimeout; below PollTimeout, no back-off.
	IdlePollTimeout time.Duration
	// Logger receives one-time notices about refused offloads. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.IdlePollTimeout == 0 {
		o.IdlePollTimeout = DefaultIdlePollTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
