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
//
// RxFrameRing frames are DefaultFrameSize bytes: an MTU-sized frame plus its
// tpacket2 header, link-layer address and virtio-net header fit in 2 KiB;
// larger frames (GSO, jumbo) come through the socket queue instead. 2,048 of
// them (4 MiB per port) absorb a burst of 2,048 frames of any size up to
// the MTU: 4 ms of 64-byte frames at 0.5 Mpps, one scheduler tick at
// HZ=250. Under a sustained overload a 1,024-frame ring lost no more than a
// 4,096-frame one (the loss is the forwarding CPU's limit, see doc.go), and
// a switch with a thousand busy ports pins 4 GiB of rings instead of 8.
const (
	DefaultBlockSize    = 256 << 10
	DefaultBlockCount   = 32
	DefaultBlockTimeout = time.Millisecond
	DefaultFrameSize    = 2048
	DefaultFrameCount   = 2048
	// DefaultGrowFrameCount is the frame count a lazy port's ring grows
	// to once the kernel reports drops (Options.GrowFrameCount): 16 MiB
	// with 2 KiB frames, 16 ms of 64-byte frames at 0.5 Mpps.
	DefaultGrowFrameCount = 8192
	DefaultPollTimeout    = 100 * time.Millisecond
	// DefaultIdlePollTimeout is the longest wait of an idle port's Recv.
	DefaultIdlePollTimeout = 5 * time.Second
	DefaultBusyPoll        = 50 * time.Microsecond
)

// RxMode selects how a port receives.
type RxMode int

// Receive modes.
const (
	// RxDefault is the zero value: the mode chosen by measurement, RxFrameRing.
	RxDefault RxMode = iota
	// RxRing walks a TPACKET_V3 mmapped ring: no system call while frames
	// are queued, so the cheapest per frame under load. At low rates the
	// kernel hands over a block only when it fills or BlockTimeout passes
	// (1 ms at least, counted in jiffies), which adds up to that much
	// latency per hop: ping through two ports took 1.1-3.8 ms.
	RxRing
	// RxMmsg uses one recvmmsg per batch, as Open vSwitch's netdev-linux
	// does, with the VLAN tag from PACKET_AUXDATA: a system call per batch
	// but no added latency.
	RxMmsg
	// RxFrameRing walks a TPACKET_V2 mmapped ring of fixed-size frames,
	// each with its own status word: no system call while frames are
	// queued, and the kernel wakes the reader for every frame, so no added
	// latency either. Frames larger than FrameSize allows (GSO frames,
	// jumbo frames) are left in the socket queue by the kernel
	// (PACKET_COPY_THRESH) and read from there with one recvmmsg each.
	RxFrameRing
)

// defaultRxMode is what RxDefault means.
const defaultRxMode = RxFrameRing

// String returns "default", "ring", "mmsg" or "framering".
func (m RxMode) String() string {
	switch m {
	case RxDefault:
		return "default"
	case RxFrameRing:
		return "framering"
	case RxRing:
		return "ring"
	case RxMmsg:
		return "mmsg"
	}
	return "RxMode(" + strconv.Itoa(int(m)) + ")"
}

// Options tune a port. The zero value gives the defaults.
type Options struct {
	// RxMode selects the receive path. Default RxDefault, which is
	// RxFrameRing.
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
	// FrameSize is the size of one RxFrameRing frame in bytes, a multiple
	// of 16 between 1024 and 1 MiB. Frames that do not fit with the 76
	// bytes of headers in front (tpacket2 header, link-layer address,
	// virtio-net header) take the socket-queue path, one recvmmsg each:
	// GSO frames always, and every frame of a device with an MTU above
	// 1958 unless FrameSize is raised to MTU+90 or more. Default
	// DefaultFrameSize.
	FrameSize int
	// FrameCount is the number of RxFrameRing frames. Default
	// DefaultFrameCount.
	FrameCount int
	// GrowFrameCount is the number of frames a lazy port's ring
	// (LazyRing) grows to, once, when the kernel reports that it dropped
	// frames because the ring was full (PACKET_STATISTICS, read every 64
	// receives that returned frames). The larger ring is built on a third
	// socket and takes over with the lazy ring's handover, losing,
	// duplicating and reordering nothing, so only a port that overflowed
	// pins the larger ring. Default
	// DefaultGrowFrameCount; a value at or below FrameCount (or negative)
	// disables growing.
	GrowFrameCount int
	// BusyPoll bounds how long an RxFrameRing Recv that finds the ring
	// empty keeps checking it, without a system call, before it sleeps in
	// poll(2). The spin adapts: it starts only after poll slept for less
	// than BusyPoll (frames arrive faster than that), doubles up to
	// BusyPoll while that stays true, and halves each time it waits in
	// vain, so an idle or slow port never spins. It saves the sleep and
	// the cross-CPU wakeup per few frames at moderate to high rates.
	// Default DefaultBusyPoll; negative disables it.
	BusyPoll time.Duration
	// PollTimeout is how long Recv waits for a frame before returning an
	// empty batch. Default DefaultPollTimeout.
	PollTimeout time.Duration
	// IdlePollTimeout bounds the back-off of an idle port: after
	// ten empty waits in a row (a second at the default
	// PollTimeout) each further empty wait is twice as long as the last,
	// up to IdlePollTimeout, and the first frame brings the wait back to
	// PollTimeout. A frame or Close ends any wait at once, so the back-off
	// adds no latency; it only spares an idle port's thread the wakeups,
	// which with a thousand idle ports cost a third of a CPU (each wakeup
	// of a thread locked to its goroutine is a P handoff in the Go
	// scheduler). Default DefaultIdlePollTimeout; a value below
	// PollTimeout means no back-off.
	IdlePollTimeout time.Duration
	// NoVnetHdr disables PACKET_VNET_HDR, as on a kernel without it (tests).
	NoVnetHdr bool
	// NoPromisc leaves the device's promiscuous mode alone.
	NoPromisc bool
	// LazyRing, with the frame ring mode (the default), makes Open cheap:
	// the port starts receiving at once with recvmmsg on a plain socket,
	// and builds its frame ring only once traffic flows (64 frames within
	// a second; a port seeing only link-up multicast never does), on a
	// second socket that takes over without losing, duplicating or
	// reordering a frame (lazyring_linux_unsafe.go: steered by two socket
	// filter programs for the moment of the switch, or, when the kernel
	// refuses those, through a PACKET_FANOUT group the port then stays
	// in). A
	// ring costs an RCU grace period to set up (about 10 ms) and pins
	// FrameCount*FrameSize bytes of kernel memory, which a switch adding
	// a thousand mostly idle ports at once should not pay up front.
	LazyRing bool
	// SparesAtOpen makes a lazy port create, at Open, the sockets its
	// handovers will need later (one for the first ring, one more when
	// GrowFrameCount grows it), instead of creating each when the
	// handover starts, on the builder goroutine. A socket belongs to the
	// network namespace of the thread that creates it, and the builder
	// may run on any of the process's threads: set it when Open runs on
	// a thread switched into another namespace than the process's others
	// (as tests do). A process whose threads all stay in one namespace
	// (gvswitchd) leaves it off: the kernel adds every new packet socket
	// at the tail of its namespace's list, a walk over all of them, and a
	// 1000-port bulk add spent about a fifth of gvswitchd's CPU creating
	// spares that mostly idle ports never use.
	SparesAtOpen bool
	// fanout is how open joins a fanout group (lazy ring sockets only).
	fanout fanoutJoin
	// Logger receives the one-time notices about refused offloads and a
	// refused frame ring. Default slog.Default().
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
	if o.FrameSize <= 0 {
		o.FrameSize = DefaultFrameSize
	}
	if o.FrameCount <= 0 {
		o.FrameCount = DefaultFrameCount
	}
	if o.GrowFrameCount == 0 {
		o.GrowFrameCount = DefaultGrowFrameCount
	}
	if o.RxMode == RxDefault {
		o.RxMode = defaultRxMode
	}
	if o.BusyPoll == 0 {
		o.BusyPoll = DefaultBusyPoll
	}
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

// fanoutJoin asks open to put the socket in a PACKET_FANOUT group right
// after bind: a new group of its own (first), or group id.
type fanoutJoin struct {
	join, first bool
	id          uint16
	// sock, when haveSock, is a socket created earlier in the port's
	// network namespace, used instead of a new one.
	sock     int
	haveSock bool
}
