package datapath

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/offload"
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
	// overLimitIdle is the idle time used while the flow count exceeds the
	// limit, as OVS's revalidators do.
	overLimitIdle = 100 * time.Millisecond
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
	// EMCEntries is the exact-match cache size per poll goroutine (one per
	// port), rounded up to a power of two and allocated on first use. 0
	// means DefaultEMCEntries.
	EMCEntries int
	// EMCInsertInvProb inserts a key into the EMC with probability 1/N
	// (emc-insert-inv-prob). 0 means DefaultEMCInsertInvProb, 1 inserts
	// always, and a negative value disables the EMC. Even when enabled, a
	// poll goroutine consults its EMC only while that pays (see emcPolicy
	// in pmd.go: at least two masks on the port and a useful hit rate).
	EMCInsertInvProb int
	// Now returns the current time; nil means time.Now. Tests use it to
	// drive idle expiry and "used" without sleeping.
	Now func() time.Time
	// Log receives rare events (a port that starts or stops failing);
	// nil discards them. Nothing is logged per packet.
	Log *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Name == "" {
		o.Name = "ovs-netdev"
	}
	if o.FlowLimit <= 0 {
		o.FlowLimit = DefaultFlowLimit
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = DefaultMaxIdle
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.EMCEntries <= 0 {
		o.EMCEntries = DefaultEMCEntries
	}
	if o.EMCInsertInvProb == 0 {
		o.EMCInsertInvProb = DefaultEMCInsertInvProb
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// PortInfo describes one attached port.
type PortInfo struct {
	No   uint32
	Name string
	Port netdev.Port
}

// dpPort is an attached port and its poll goroutine.
type dpPort struct {
	no   uint32
	name string
	port netdev.Port
	caps offload.Caps // what Send accepts; see portCaps
	pmd  *pmd

	started sync.Once // the poll goroutine was started (start)
}

// portTable is an immutable snapshot of the attached ports, indexed by port
// number; poll goroutines read it without locks.
type portTable struct {
	byNo []*dpPort
}

func (t *portTable) get(no uint32) *dpPort {
	if t == nil || int(no) >= len(t.byNo) {
		return nil
	}
	return t.byNo[no]
}

type upcallBox struct{ h UpcallHandler }

// Datapath is a userspace datapath. Its methods are safe for concurrent use.
type Datapath struct {
	opts      Options
	realClock bool // opts.Now is time.Now: poll loops read the clock directly

	mu     sync.Mutex // guards ports (writes), cls, closed
	ports  atomic.Pointer[portTable]
	cls    map[uint32]*classifier
	closed bool

	// Tunables that other_config can change at run time (Set* methods).
	flowLimit  atomic.Int64
	maxIdle    atomic.Int64 // ns
	emcInvProb atomic.Int32 // OVS semantics: 0 = EMC off

	handler atomic.Pointer[upcallBox]
	nflows  atomic.Int64
	seq     atomic.Uint64
	retired pmdCounters // counters of poll goroutines that exited

	execMu sync.Mutex
	exec   *executor

	progs programCache

	sweepStop chan struct{}
	sweepDone chan struct{}
}

// New creates a datapath with no ports and no flows, and starts the idle
// sweeper unless Options.SweepInterval is negative.
func New(opts Options) (*Datapath, error) {
	realClock := opts.Now == nil
	opts.setDefaults()
	dp := &Datapath{
		opts:      opts,
		realClock: realClock,
		cls:       make(map[uint32]*classifier),
		exec:      newExecutor(),
	}
	dp.ports.Store(&portTable{})
	dp.flowLimit.Store(int64(opts.FlowLimit))
	dp.maxIdle.Store(int64(opts.MaxIdle))
	dp.emcInvProb.Store(int32(max(opts.EMCInsertInvProb, 0)))
	if opts.SweepInterval > 0 {
		dp.sweepStop = make(chan struct{})
		dp.sweepDone = make(chan struct{})
		go dp.sweeper()
	}
	return dp, nil
}

func (dp *Datapath) sweeper() {
	defer close(dp.sweepDone)
	t := time.NewTicker(dp.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-dp.sweepStop:
			return
		case <-t.C:
			dp.Sweep()
		}
	}
}

func (dp *Datapath) nowNs() int64 { return dp.opts.Now().UnixNano() }

// SetFlowLimit changes the flow limit (other_config:flow-limit); n <= 0
// restores DefaultFlowLimit. Installed flows above a lowered limit stay
// until they idle out, which then happens after 100 ms.
func (dp *Datapath) SetFlowLimit(n int) {
	if n <= 0 {
		n = DefaultFlowLimit
	}
	dp.flowLimit.Store(int64(n))
}

// SetMaxIdle changes the idle expiry (other_config:max-idle); d <= 0
// restores DefaultMaxIdle.
func (dp *Datapath) SetMaxIdle(d time.Duration) {
	if d <= 0 {
		d = DefaultMaxIdle
	}
	dp.maxIdle.Store(int64(d))
}

// SetEMCInsertInvProb changes the EMC insertion probability to 1/n with
// other_config:emc-insert-inv-prob's meaning: 0 disables the EMC, 1
// inserts every miss. Poll goroutines pick it up at their next batch.
// (Options.EMCInsertInvProb differs only in that 0 means the default there.)
func (dp *Datapath) SetEMCInsertInvProb(n int) {
	dp.emcInvProb.Store(int32(min(max(n, 0), 1<<30)))
}

// classifierLocked returns in_port no's classifier, creating it.
func (dp *Datapath) classifierLocked(no uint32) *classifier {
	c := dp.cls[no]
	if c == nil {
		c = newClassifier()
		dp.cls[no] = c
	}
	return c
}

// AddPort attaches port under datapath port number wantNo (0 picks the
// lowest free number, starting at 1) and starts its poll goroutine. It
// returns the number used. The datapath owns port afterwards: DelPort and
// Close close it. Errors wrap ErrPortExists or ErrDatapathClosed.
func (dp *Datapath) AddPort(name string, port netdev.Port, wantNo uint32) (uint32, error) {
	no, start, err := dp.AddPortDeferred(name, port, wantNo)
	if err != nil {
		return 0, err
	}
	start()
	return no, nil
}

// AddPortDeferred is AddPort that leaves starting the port's poll goroutine
// to the caller: the port is in the datapath (flows and Execute send to it,
// Ports lists it) when it returns, and it receives once start runs. Frames
// that arrive before wait in the device's receive queue (an AF_PACKET
// socket's buffer). Starting a poll goroutine costs an OS thread (it runs
// locked to one), so a caller attaching many ports at once can report them
// attached first and start them after. start may be called more than once;
// DelPort, DetachPort and Close work on a port never started.
func (dp *Datapath) AddPortDeferred(name string, port netdev.Port, wantNo uint32) (no uint32, start func(), err error) {
	if port == nil {
		return 0, nil, fmt.Errorf("add port %s: nil port", name)
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return 0, nil, fmt.Errorf("add port %s: %w", name, ErrDatapathClosed)
	}
	old := dp.ports.Load()
	for _, p := range old.byNo {
		if p != nil && p.name == name {
			return 0, nil, fmt.Errorf("add port %s: name %w", name, ErrPortExists)
		}
	}
	no = wantNo
	switch {
	case no == 0:
		no = 1
		for old.get(no) != nil {
			no++
		}
		if no > MaxPortNo {
			return 0, nil, fmt.Errorf("add port %s: no free port number", name)
		}
	case no > MaxPortNo:
		return 0, nil, fmt.Errorf("add port %s: port number %d above %d", name, no, MaxPortNo)
	case old.get(no) != nil:
		return 0, nil, fmt.Errorf("add port %s: number %d: %w", name, no, ErrPortExists)
	}
	p := &dpPort{no: no, name: name, port: port, caps: portCaps(port)}
	nt := &portTable{byNo: make([]*dpPort, max(len(old.byNo), int(no)+1))}
	copy(nt.byNo, old.byNo)
	nt.byNo[no] = p
	p.pmd = newPMD(dp, p, dp.classifierLocked(no))
	dp.ports.Store(nt)
	return no, p.start, nil
}

// start starts p's poll goroutine once.
func (p *dpPort) start() { p.started.Do(func() { go p.pmd.run() }) }

// DelPort stops the port's poll goroutine, closes the port and deletes the
// flows whose in_port it is. It must not be called from an UpcallHandler.
// Errors wrap ErrNoSuchPort.
func (dp *Datapath) DelPort(no uint32) error {
	finish, err := dp.DetachPort(no)
	if err != nil {
		return err
	}
	return finish()
}

// DetachPort is DelPort in two steps. It takes port no out of the datapath
// at once: when it returns, nothing is sent to the port any more, Ports no
// longer lists it, its flows are deleted (and its classifier refuses new
// ones), and its poll goroutine is told to stop (a batch it is receiving
// at that moment may still be forwarded). The returned finish waits for
// the poll goroutine and closes the port; it must be called exactly once,
// from any goroutine. Closing is mostly waiting for the kernel (an
// AF_PACKET socket's or a TAP device's close ends with an RCU grace
// period, 10-30 ms on a busy machine), which is why a caller reporting the
// deletion (ofproto's cur_cfg) need not wait for it. Until finish returns,
// the caller should not reuse the port number or reopen the device.
// It must not be called from an UpcallHandler. Errors wrap ErrNoSuchPort.
func (dp *Datapath) DetachPort(no uint32) (finish func() error, err error) {
	dp.mu.Lock()
	old := dp.ports.Load()
	p := old.get(no)
	if p == nil {
		dp.mu.Unlock()
		return nil, fmt.Errorf("del port %d: %w", no, ErrNoSuchPort)
	}
	nt := &portTable{byNo: slices.Clone(old.byNo)}
	nt.byNo[no] = nil
	dp.ports.Store(nt)
	c := dp.cls[no]
	delete(dp.cls, no)
	dp.mu.Unlock()

	p.pmd.stop.Store(true)
	if c != nil {
		// Retired first: an upcall racing with the deletion cannot leave
		// a flow behind in a classifier no port uses.
		dp.flushClassifier(c, true)
	}
	return func() error {
		if err := dp.stopPort(p); err != nil {
			return fmt.Errorf("del port %s: %w", p.name, err)
		}
		return nil
	}, nil
}

// stopPort stops p's poll goroutine and closes the port.
func (dp *Datapath) stopPort(p *dpPort) error {
	p.pmd.stop.Store(true)
	p.start() // a port never started: its goroutine sees stop and returns at once
	err := p.port.Close()
	<-p.pmd.done
	dp.retired.add(&p.pmd.ctr)
	return err
}

// Ports returns the attached ports sorted by number.
func (dp *Datapath) Ports() []PortInfo {
	var out []PortInfo
	for _, p := range dp.ports.Load().byNo {
		if p != nil {
			out = append(out, PortInfo{No: p.no, Name: p.name, Port: p.port})
		}
	}
	return out
}

// Execute runs actions on pkt from the slow path (e.g. a packet-out) and
// sends the results immediately. pkt stays the caller's; it may be edited
// by VLAN actions. It is safe to call from any goroutine.
func (dp *Datapath) Execute(pkt *packet.Packet, actions Actions) error {
	if pkt == nil {
		return errors.New("execute: nil packet")
	}
	prog := compile(actions)
	dp.execMu.Lock()
	defer dp.execMu.Unlock()
	x := dp.exec
	x.ports = dp.ports.Load()
	pkts := [1]*packet.Packet{pkt}
	x.run(prog, pkts[:])
	x.flush()
	drops, txErrs := x.drops, x.txErrs
	x.drops, x.txErrs = 0, 0
	dp.retired.actionDrops.Add(drops)
	dp.retired.txErrors.Add(txErrs)
	if drops != 0 {
		return errors.New("execute: packet dropped by actions")
	}
	if txErrs != 0 {
		return errors.New("execute: send failed")
	}
	return nil
}

// SetUpcallHandler sets the slow path. With no handler (nil), misses are
// dropped and counted as lost. It may be called at any time.
func (dp *Datapath) SetUpcallHandler(h UpcallHandler) {
	if h == nil {
		dp.handler.Store(nil)
		return
	}
	dp.handler.Store(&upcallBox{h: h})
}

// Close stops every poll goroutine, closes every port and drops all flows.
// It returns the first port Close error.
func (dp *Datapath) Close() error {
	dp.mu.Lock()
	if dp.closed {
		dp.mu.Unlock()
		return nil
	}
	dp.closed = true
	old := dp.ports.Load()
	dp.ports.Store(&portTable{})
	dp.mu.Unlock()
	if dp.sweepStop != nil {
		close(dp.sweepStop)
		<-dp.sweepDone
	}
	var first error
	for _, p := range old.byNo {
		if p == nil {
			continue
		}
		if err := dp.stopPort(p); err != nil && first == nil {
			first = fmt.Errorf("close port %s: %w", p.name, err)
		}
	}
	dp.FlowFlush()
	return first
}
