package datapath

import (
	"errors"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Defaults, as Open vSwitch's userspace datapath and revalidators use them.
const (
	// DefaultFlowLimit is other_config:flow-limit's default.
	DefaultFlowLimit = 200000
	// DefaultMaxIdle is other_config:max-idle's default (10000 ms).
	DefaultMaxIdle = 10 * time.Second
	// DefaultEMCEntries is dpif-netdev's EMC size (2^13).
	DefaultEMCEntries = 8192
	// DefaultEMCInsertInvProb is other_config:emc-insert-inv-prob's default:
	// a missed packet's key enters the EMC with probability 1/100.
	DefaultEMCInsertInvProb = 100
	// DefaultSweepInterval is how often the idle sweeper runs (OVS's
	// revalidator runs at least every 500 ms).
	DefaultSweepInterval = 500 * time.Millisecond
	// MaxPortNo is the largest datapath port number AddPort accepts.
	MaxPortNo = 65535
)

// Errors returned by Datapath methods.
var (
	// ErrPortExists: AddPort with a number or name already in use.
	ErrPortExists = errors.New("port exists")
	// ErrNoSuchPort: DelPort or Port with an unknown number.
	ErrNoSuchPort = errors.New("no such port")
	// ErrNoSuchFlow: FlowDel for a flow that is not installed.
	ErrNoSuchFlow = errors.New("no such flow")
	// ErrFlowLimit: FlowPut when the datapath holds FlowLimit flows.
	ErrFlowLimit = errors.New("flow limit reached")
	// ErrDatapathClosed: any call after Close.
	ErrDatapathClosed = errors.New("datapath closed")
)

// Options configure a Datapath. The zero value gives Open vSwitch's defaults.
type Options struct {
	// Name is the datapath's name in dumps, default "ovs-netdev".
	Name string
	// FlowLimit caps installed megaflows (all ports together). 0 means
	// DefaultFlowLimit.
	FlowLimit int
	// MaxIdle removes flows unused for this long. 0 means DefaultMaxIdle.
	MaxIdle time.Duration
	// SweepInterval is the idle sweeper's period; 0 means
	// DefaultSweepInterval and a negative value disables the sweeper
	// goroutine (tests then call Sweep).
	SweepInterval time.Duration
	// EMCEntries is the exact-match cache size per poll goroutine, rounded
	// up to a power of two. 0 means DefaultEMCEntries.
	EMCEntries int
	// EMCInsertInvProb inserts a key into the EMC with probability 1/N
	// (emc-insert-inv-prob). 0 means DefaultEMCInsertInvProb, 1 inserts
	// always, and a negative value disables the EMC.
	EMCInsertInvProb int
	// Now returns the current time; nil means time.Now. Tests use it to
	// drive idle expiry and "used" without sleeping.
	Now func() time.Time
}

// PortInfo describes one attached port.
type PortInfo struct {
	No   uint32
	Name string
	Port netdev.Port
}

// Datapath is a userspace datapath. Its methods are safe for concurrent use.
type Datapath struct {
	opts Options
}

// New creates a datapath with no ports and no flows.
func New(opts Options) (*Datapath, error) {
	return &Datapath{opts: opts}, nil
}

// AddPort attaches port under datapath port number wantNo (0 picks the
// lowest free number, starting at 1) and starts its poll goroutine. It
// returns the number used. The datapath owns port afterwards: DelPort and
// Close close it. Errors wrap ErrPortExists or ErrDatapathClosed.
func (dp *Datapath) AddPort(name string, port netdev.Port, wantNo uint32) (uint32, error) {
	return 0, errors.ErrUnsupported
}

// DelPort stops the port's poll goroutine, closes the port and deletes the
// flows whose in_port it is. Errors wrap ErrNoSuchPort.
func (dp *Datapath) DelPort(no uint32) error { return errors.ErrUnsupported }

// Ports returns the attached ports sorted by number.
func (dp *Datapath) Ports() []PortInfo { return nil }

// FlowPut installs a megaflow matching key under mask (InPort is always
// matched exactly) with actions, or replaces the actions of an identical
// megaflow (same masked key and mask), keeping its stats. The datapath keeps
// actions; the caller must not modify them afterwards. Errors wrap
// ErrFlowLimit.
func (dp *Datapath) FlowPut(key *FlowKey, mask *Mask, actions Actions) error {
	return errors.ErrUnsupported
}

// FlowDel deletes the megaflow with this key and mask and invalidates the
// EMC entries that point at it. Errors wrap ErrNoSuchFlow.
func (dp *Datapath) FlowDel(key *FlowKey, mask *Mask) error { return errors.ErrUnsupported }

// FlowDump returns a snapshot of every installed megaflow with its stats,
// sorted by in_port then installation order.
func (dp *Datapath) FlowDump() []FlowEntry { return nil }

// FlowFlush deletes every megaflow.
func (dp *Datapath) FlowFlush() {}

// Execute runs actions on pkt from the slow path (e.g. a packet-out) and
// sends the results immediately. pkt stays the caller's; it may be edited
// by VLAN actions. It is safe to call from any goroutine.
func (dp *Datapath) Execute(pkt *packet.Packet, actions Actions) error {
	return errors.ErrUnsupported
}

// SetUpcallHandler sets the slow path. With no handler, misses are dropped
// and counted as lost. It may be called at any time.
func (dp *Datapath) SetUpcallHandler(h UpcallHandler) {}

// Revalidate calls fn for every installed megaflow. fn returns the actions
// the flow should have now and whether to keep it: a flow not kept is
// deleted (and leaves every EMC), a kept flow whose actions differ gets the
// new ones atomically. It returns how many flows were modified and deleted.
// fn must not call back into the Datapath's flow methods.
func (dp *Datapath) Revalidate(fn RevalidateFunc) (modified, deleted int) { return 0, 0 }

// RevalidateFunc decides the fate of one megaflow; see Revalidate.
type RevalidateFunc func(f *FlowEntry) (actions Actions, keep bool)

// Sweep deletes flows idle for longer than MaxIdle (or, when the flow count
// exceeds FlowLimit, idle for 100 ms as Open vSwitch does) and returns how
// many it deleted. The sweeper goroutine calls it every SweepInterval.
func (dp *Datapath) Sweep() int { return 0 }

// Close stops every poll goroutine, closes every port and drops all flows.
func (dp *Datapath) Close() error { return nil }
