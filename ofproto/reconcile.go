package ofproto

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/netdev"
)

// Datapath is what the vswitchd layer needs from the datapath to attach and
// detach ports; *datapath.Datapath implements it.
type Datapath interface {
	// AddPort attaches port (the datapath owns it afterwards) and returns
	// its datapath port number; 0 picks a free one.
	AddPort(name string, port netdev.Port, wantNo uint32) (uint32, error)
	// DelPort detaches and closes a port.
	DelPort(no uint32) error
}

// PortDetacher is implemented by datapaths that can take a port out at once
// and close it later (*datapath.Datapath does): DetachPort returns when the
// port no longer forwards, and finish closes it.
type PortDetacher interface {
	DetachPort(no uint32) (finish func() error, err error)
}

// DeferredAdder is implemented by datapaths that can attach a port and start
// receiving on it later (*datapath.Datapath does): the reconciler starts the
// ports of a pass after its cur_cfg transaction (see startPorts).
type DeferredAdder interface {
	AddPortDeferred(name string, port netdev.Port, wantNo uint32) (no uint32, start func(), err error)
}

// IngressPolicer is implemented by datapaths that police the traffic a
// port receives (Interface ingress_policing_rate/burst and the kpkts
// variants). A Datapath without it leaves those columns unapplied.
type IngressPolicer interface {
	SetIngressPolicing(no uint32, pol datapath.Policing) error
}

// Opener opens the network device of an interface. typ is "" (an existing
// system device), "internal" or "tap" (a TAP device the switch creates).
type Opener interface {
	Open(name, typ string) (netdev.Port, error)
}

// OFPortLocal is the OpenFlow port number of a bridge's local port.
const OFPortLocal = 65534

// maxOFPort is the largest ordinary OpenFlow port number (OFPP_MAX, 0xff00).
const maxOFPort = 0xff00

// supportedTypes are the Interface types gvswitch implements.
var supportedTypes = map[string]bool{"": true, "system": true, "internal": true, "tap": true, "patch": true}

// SupportedTypes lists supported types for Open_vSwitch iface_types ("" is
// the same as "system" and is not listed, as in Open vSwitch).
func SupportedTypes() []string { return []string{"internal", "patch", "system", "tap"} }

// liveIface is one interface as it is attached now.
type liveIface struct {
	uuid, name, typ string
	bridge, port    string
	ofport          int64 // > 0 attached (or patch), -1 failed
	lastOFPort      int64 // last good ofport, reused on re-attach
	dpNo            uint32
	dev             netdev.Port // nil for patch and failed
	err             string
	ifindex         int  // kernel ifindex seen at attach (0 unknown)
	vanished        bool // the kernel device went away or was replaced
	// policing is what SetIngressPolicing last applied, on policedNo.
	policing  datapath.Policing
	policedNo uint32
}

func (l *liveIface) attached() bool { return l.ofport > 0 }

// liveBridge is one bridge's OpenFlow port table.
type liveBridge struct {
	name    string
	ofports map[int64]string // ofport -> interface name
	// free is a lower bound of the free OpenFlow port numbers: every
	// number in [1, free) is taken. It keeps automatic allocation linear
	// over a bulk add instead of rescanning from 1 for every port.
	free int64
}

func newLiveBridge(name string) *liveBridge {
	return &liveBridge{name: name, ofports: make(map[int64]string), free: 1}
}

// release frees ofport n if name holds it.
func (b *liveBridge) release(n int64, name string) {
	if n > 0 && b.ofports[n] == name {
		delete(b.ofports, n)
		b.free = min(b.free, n)
	}
}

// reconciler holds live state and applies Specs to the datapath. Its methods
// are called with vswitch.mu held.
type reconciler struct {
	dp      Datapath
	open    Opener
	ifaces  map[string]*liveIface
	bridges map[string]*liveBridge
	log     logger
	count   func(event string)
	// detached lists the interfaces detached since the caller last
	// cleared it; their cached kernel state (Vswitch.linkCache) belongs
	// to a device that is gone or no longer ours.
	detached []string

	// starts are the poll goroutine starts of ports attached since the
	// last startPorts.
	starts []func()

	// Background closes (detachAll): closes of system devices finish
	// after the pass that detached them. bgMu guards the datapath port
	// numbers (a number is released when its port is closed) and closing.
	bgMu    sync.Mutex
	dpUsed  map[uint32]bool          // datapath port numbers in use or reserved
	dpFree  uint32                   // every datapath port number in [1, dpFree) is used
	closing map[string]chan struct{} // interface name -> closed when its close finished
	bg      sync.WaitGroup           // background closes
}

func newReconciler(dp Datapath, open Opener, log logger, count func(string)) *reconciler {
	if count == nil {
		count = func(string) {}
	}
	return &reconciler{dp: dp, open: open, log: log, count: count,
		ifaces: make(map[string]*liveIface), bridges: make(map[string]*liveBridge), dpUsed: make(map[uint32]bool), dpFree: 1,
		closing: make(map[string]chan struct{})}
}

// reserveDPNo takes the lowest free datapath port number.
func (r *reconciler) reserveDPNo() uint32 {
	r.bgMu.Lock()
	defer r.bgMu.Unlock()
	no := r.dpFree
	for r.dpUsed[no] {
		no++
	}
	r.dpUsed[no] = true
	r.dpFree = no + 1
	return no
}

// releaseDPNo frees datapath port number no.
func (r *reconciler) releaseDPNo(no uint32) {
	r.bgMu.Lock()
	defer r.bgMu.Unlock()
	r.releaseDPNoLocked(no)
}

func (r *reconciler) releaseDPNoLocked(no uint32) {
	delete(r.dpUsed, no)
	r.dpFree = min(r.dpFree, no)
}

// ifaceResult is what the database should say about one interface.
type ifaceResult struct {
	spec   *IfaceSpec
	ofport int64
	err    string
}

// normType maps the Interface type column to the opener's type.
func normType(i *IfaceSpec) string {
	if i.Local() {
		return "internal"
	}
	if i.Type == "system" {
		return ""
	}
	return i.Type
}

// needsDetach reports whether a live interface no longer matches its spec.
func needsDetach(l *liveIface, i *IfaceSpec) bool {
	switch {
	case i == nil, l.bridge != i.Bridge, l.port != i.Port, l.typ != normType(i), l.vanished, !l.attached():
		return true
	case i.OFPortRequest > 0 && l.ofport != i.OFPortRequest:
		return true
	}
	return false
}

// Reconcile makes the live state match s, deleting before adding, and
// returns the ofport and error every interface of s should show.
func (r *reconciler) Reconcile(s *Spec) []ifaceResult {
	want := make(map[string]*IfaceSpec)
	all := s.Ifaces()
	for _, i := range all {
		want[i.Name] = i
	}
	var gone []*liveIface
	for _, name := range sortedKeys(r.ifaces) {
		if l := r.ifaces[name]; needsDetach(l, want[name]) {
			gone = append(gone, l)
		}
	}
	r.detachAll(gone)
	for name := range r.bridges {
		if s.Bridges[name] == nil {
			delete(r.bridges, name)
		}
	}
	for name := range s.Bridges {
		if r.bridges[name] == nil {
			r.bridges[name] = newLiveBridge(name)
		}
	}
	// Interfaces with an ofport_request go first so that automatic
	// allocation never takes a requested number.
	// Among those, an interface that already holds its requested number
	// in the database (e.g. after a restart) keeps it.
	order := make([]*IfaceSpec, 0, len(all))
	// Then interfaces that have an ofport in the database keep it, and new
	// ones get the free numbers left.
	for pass := 0; pass < 4; pass++ {
		for _, i := range all {
			holds := i.OFPortRequest > 0 && i.OFPort == i.OFPortRequest
			switch {
			case pass == 0 && holds,
				pass == 1 && i.OFPortRequest > 0 && !holds,
				pass == 2 && i.OFPortRequest <= 0 && i.OFPort > 0,
				pass == 3 && i.OFPortRequest <= 0 && i.OFPort <= 0:
				order = append(order, i)
			}
		}
	}
	var pending []*liveIface
	for _, i := range order {
		if l := r.ifaces[i.Name]; l == nil || !l.attached() {
			if l := r.plan(i); l != nil {
				pending = append(pending, l)
			}
		}
	}
	r.openAll(pending)
	res := make([]ifaceResult, 0, len(all))
	for _, i := range all {
		l := r.ifaces[i.Name]
		res = append(res, ifaceResult{spec: i, ofport: l.ofport, err: l.err})
	}
	return res
}

// Concurrency of device opens and closes. Closing a device is mostly
// waiting: the kernel ends a packet socket close and a TAP removal with an
// RCU grace period (about 10 ms here), and concurrent waiters share grace
// periods, so a thousand ports closed 128 at a time take a handful of them.
// Opening a system device is a few system calls (afpacket.Options.LazyRing
// keeps the ring's grace period out of it), so opens are bounded lower:
// measured on 2 vCPUs, 1000 lazy opens took 0.19 s 16 at a time and 1.4 s
// 128 at a time.
const (
	openParallelism  = 32
	closeParallelism = 128
)

// forEachParallel runs fn on every element with at most parallelism
// goroutines.
func forEachParallel[T any](items []T, parallelism int, fn func(T)) {
	if len(items) <= 1 {
		for _, it := range items {
			fn(it)
		}
		return
	}
	sem := make(chan struct{}, parallelism)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(it)
		}()
	}
	wg.Wait()
}

// detachAll removes ls from the datapath and from their bridges' port
// tables. Failed interfaces are forgotten too, so that the next attach
// retries them.
//
// A system device (AF_PACKET) is taken out of the datapath at once and
// closed in the background: its close waits for RCU grace periods (two
// packet sockets, 10-30 ms each), and the device stays the administrator's,
// so nothing observable waits for it; a del-port's cur_cfg does not either.
// A reopen of the same name waits for it (openAll), and so does shutdown
// (closeAll). Internal and TAP devices are the switch's own: closing one
// removes the kernel device, which must be gone when the deletion is
// reported, so they are closed here (concurrently).
func (r *reconciler) detachAll(ls []*liveIface) {
	det, _ := r.dp.(PortDetacher)
	type later struct {
		name   string
		no     uint32
		finish func() error
	}
	var bg []later
	var now []*liveIface
	for _, l := range ls {
		switch {
		case l.dev == nil:
		case det != nil && l.typ == "":
			finish, err := det.DetachPort(l.dpNo)
			if err != nil {
				r.warnDel(l, err)
				r.releaseDPNo(l.dpNo)
				continue
			}
			bg = append(bg, later{name: l.name, no: l.dpNo, finish: finish})
		default:
			now = append(now, l)
		}
	}
	forEachParallel(now, closeParallelism, func(l *liveIface) {
		if err := r.dp.DelPort(l.dpNo); err != nil {
			r.warnDel(l, err)
		}
	})
	for _, l := range now {
		r.releaseDPNo(l.dpNo)
	}
	if len(bg) > 0 {
		done := make(chan struct{})
		r.bgMu.Lock()
		for _, b := range bg {
			r.closing[b.name] = done
		}
		r.bgMu.Unlock()
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			forEachParallel(bg, closeParallelism, func(b later) {
				if err := b.finish(); err != nil && r.log != nil {
					r.log.Warn("close datapath port", "port", b.name, "error", err)
				}
			})
			r.bgMu.Lock()
			for _, b := range bg {
				r.releaseDPNoLocked(b.no)
				if r.closing[b.name] == done {
					delete(r.closing, b.name)
				}
			}
			r.bgMu.Unlock()
			close(done)
		}()
	}
	for _, l := range ls {
		if l.attached() {
			r.count("iface_deleted")
		}
		if l.attached() && r.log != nil {
			r.log.Info(fmt.Sprintf("bridge %s: deleted interface %s on port %d", l.bridge, l.name, l.ofport))
		}
		l.dev = nil
		r.detached = append(r.detached, l.name)
		r.forget(l)
	}
}

func (r *reconciler) warnDel(l *liveIface, err error) {
	if r.log != nil {
		r.log.Warn("delete datapath port", "port", l.name, "error", err)
	}
}

// waitClosed waits until no background close of a device named name is
// pending.
func (r *reconciler) waitClosed(name string) {
	r.bgMu.Lock()
	done := r.closing[name]
	r.bgMu.Unlock()
	if done != nil {
		<-done
	}
}

func (r *reconciler) forget(l *liveIface) {
	if b := r.bridges[l.bridge]; b != nil {
		b.release(l.ofport, l.name)
	}
	delete(r.ifaces, l.name)
}

// pickOFPort chooses i's OpenFlow port number in bridge b.
func (r *reconciler) pickOFPort(b *liveBridge, i *IfaceSpec, last int64) (int64, error) {
	if i.Local() {
		return OFPortLocal, nil
	}
	if req := i.OFPortRequest; req > 0 {
		if req >= maxOFPort {
			return 0, fmt.Errorf("ofport_request %d is out of range", req)
		}
		if other, ok := b.ofports[req]; ok && other != i.Name {
			return 0, fmt.Errorf("ofport_request %d is already in use by interface %s", req, other)
		}
		return req, nil
	}
	for _, c := range []int64{last, i.OFPort} {
		if c > 0 && c < maxOFPort {
			if _, used := b.ofports[c]; !used {
				return c, nil
			}
		}
	}
	for n := b.free; n < maxOFPort; n++ {
		if _, used := b.ofports[n]; !used {
			// Every number below n is taken; n itself is about to be.
			b.free = n
			return n, nil
		}
	}
	return 0, errors.New("no free OpenFlow port number")
}

// plan records i as live, reserves its OpenFlow port number and returns it
// when a device must still be opened (nil when it failed already or needs
// no device, like patch ports).
func (r *reconciler) plan(i *IfaceSpec) *liveIface {
	var last int64
	if old := r.ifaces[i.Name]; old != nil {
		last = old.lastOFPort
	}
	l := &liveIface{uuid: i.UUID, name: i.Name, typ: normType(i), bridge: i.Bridge, port: i.Port, ofport: -1, lastOFPort: last}
	r.ifaces[i.Name] = l
	b := r.bridges[i.Bridge]
	if !supportedTypes[i.Type] {
		l.err = fmt.Sprintf("unsupported interface type %q", i.Type)
		return nil
	}
	ofport, err := r.pickOFPort(b, i, last)
	if err != nil {
		l.err = err.Error()
		return nil
	}
	if l.typ == "patch" {
		switch i.Options["peer"] {
		case "":
			l.err = fmt.Sprintf("%s: patch type requires valid 'peer' argument", i.Name)
			return nil
		case i.Name:
			l.err = fmt.Sprintf("%s: patch peer must not be the interface itself", i.Name)
			return nil
		}
		l.ofport, l.lastOFPort = ofport, ofport
		b.ofports[ofport] = i.Name
		return nil
	}
	// Reserve the numbers now, in this deterministic order; openAll
	// releases them on failure.
	l.ofport = ofport
	b.ofports[ofport] = i.Name
	l.dpNo = r.reserveDPNo()
	return l
}

// openAll opens the devices of planned interfaces concurrently and attaches
// them to the datapath; failures become the interface's error.
//
// With a DeferredAdder the ports' poll goroutines are not started here but
// by startPorts, after the pass's cur_cfg transaction: each is an OS thread
// to create, about a third of gvswitchd's CPU in a 1000-port bulk add
// (perf: clone, the scheduler, sysmon), while an attached AF_PACKET socket
// already queues what arrives.
func (r *reconciler) openAll(ls []*liveIface) {
	da, _ := r.dp.(DeferredAdder)
	var startMu sync.Mutex
	forEachParallel(ls, openParallelism, func(l *liveIface) {
		r.waitClosed(l.name)
		dev, err := r.open.Open(l.name, l.typ)
		if err != nil {
			l.err = fmt.Sprintf("could not open network device %s (%s)", l.name, strerror(err))
			return
		}
		var no uint32
		if da != nil {
			var start func()
			if no, start, err = da.AddPortDeferred(l.name, dev, l.dpNo); err == nil {
				startMu.Lock()
				r.starts = append(r.starts, start)
				startMu.Unlock()
			}
		} else {
			no, err = r.dp.AddPort(l.name, dev, l.dpNo)
		}
		if err != nil {
			_ = dev.Close()
			l.err = fmt.Sprintf("could not add network device %s to datapath (%s)", l.name, strerror(err))
			return
		}
		l.dev, l.dpNo = dev, no
		if x, ok := dev.(interface{ Ifindex() int }); ok {
			l.ifindex = x.Ifindex()
		}
	})
	for _, l := range ls {
		if l.dev == nil {
			r.releaseDPNo(l.dpNo)
			if b := r.bridges[l.bridge]; b != nil {
				b.release(l.ofport, l.name)
			}
			l.ofport = -1
			continue
		}
		l.lastOFPort = l.ofport
		r.count("iface_added")
		if r.log != nil {
			r.log.Info(fmt.Sprintf("bridge %s: added interface %s on port %d", l.bridge, l.name, l.ofport))
		}
	}
}

// startPorts starts the poll goroutines of the ports attached since the
// last call (openAll).
func (r *reconciler) startPorts() {
	starts := r.starts
	r.starts = nil
	for _, start := range starts {
		start()
	}
}

// strerror renders err like C's strerror for errno values ("No such
// device"), and as-is otherwise.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// linkEvent records a kernel link change; it returns true when a reconcile
// pass is needed (an interface vanished, was replaced, or a failed one's
// device appeared).
func (r *reconciler) linkEvent(name string, ifindex int, deleted bool) bool {
	l := r.ifaces[name]
	if l == nil || l.typ == "patch" {
		return false
	}
	if !l.attached() {
		return !deleted
	}
	if deleted || (l.ifindex != 0 && ifindex != 0 && ifindex != l.ifindex) {
		l.vanished = true
		return true
	}
	return false
}

// sortedIfaces returns the live interfaces of bridge sorted by name.
func (r *reconciler) sortedIfaces(bridge string) []*liveIface {
	var out []*liveIface
	for _, l := range r.ifaces {
		if l.bridge == bridge {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// closeAll detaches everything (shutdown).
func (r *reconciler) closeAll() {
	ls := make([]*liveIface, 0, len(r.ifaces))
	for _, name := range sortedKeys(r.ifaces) {
		ls = append(ls, r.ifaces[name])
	}
	r.detachAll(ls)
	r.bg.Wait()
}
