//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Lazy frame ring (Options.LazyRing).
//
// Setting up a frame ring costs an RCU grace period (packet_set_ring calls
// synchronize_net) and pins the ring's pages; setting it on a bound socket
// also drops every frame while the socket's hook is unregistered. So a lazy
// port starts as a plain bound socket (S1, recvmmsg, live at once). Once
// traffic flows (lazyMinFrames frames within lazyWindow: the few multicast
// frames every port sees when IPv6 comes up do not count as traffic), a
// goroutine builds the ring on a second socket (S2, which that goroutine
// creates; with Options.SparesAtOpen, Open does, because a socket lives in
// the namespace of the thread that makes it), binds it and moves the
// traffic to it without losing, duplicating or reordering a frame, in one
// of two ways:
//
//   - Steered (steer_linux.go), when the kernel loads the two
//     socket filter programs: S1 and S2 are ordinary sockets and a per-CPU
//     word decides, once per frame, which of them takes it. Afterwards S2
//     carries no filter and is in no fanout group.
//   - Fanout group, otherwise: S1 is opened as the only member of a
//     PACKET_FANOUT group whose classic BPF program sends every frame to
//     member 0. S2 joins as member 1 and still gets nothing (a drop-all
//     socket filter covers the moment between bind and join, when S2 has a
//     hook of its own and would see copies of S1's frames); then the
//     program becomes "member 1". The kernel replaces a fanout program only
//     after a grace period (synchronize_net), so when that setsockopt
//     returns no frame is on its way to S1 any more. When S1 leaves the
//     group, S2 becomes member 0 and the program's 1 modulo one member
//     still selects it. The group stays, and costs the sender's CPU about
//     50 ns per frame (doc.go).
//
// Either way every later frame is in S2's ring: Recv drains S1 to empty
// (those frames are older than any in the ring), then adopts S2's socket
// and ring and hands S1 to the goroutine to close.
//
// Growing (Options.GrowFrameCount): a port whose ring overflowed (the
// kernel's drop counter, read every growCheckEvery receives with frames)
// does the same handover once more, from its ring to a larger one on a
// third socket (made by that handover's goroutine, or at open with
// SparesAtOpen). A fanout port first sets the program
// back to "member 0" (its only member), so that the new socket can join as
// member 1 without getting frames before the switch.

// Lazy ring states.
const (
	lazyIdle     int32 = iota // S1 only; no goroutine yet
	lazyBuilding              // the goroutine builds S2
	lazySwitched              // S2 gets every new frame; S1 is being drained
	lazyFailed                // S2 could not be built: S1 stays
)

// lazyRing is a lazy port's handover state: the first one, from S1 to the
// frame ring, or a later one to a larger ring (grow). Recv (under rxMu)
// owns it; the builder goroutine writes s2 and err before it publishes a
// state.
type lazyRing struct {
	state   atomic.Int32
	started bool // the builder goroutine runs or ran
	grow    bool // from a frame ring to a larger one, started by kernel drops
	steer   bool // hand over with the steering programs, not the fanout group
	id      uint16
	// spare is the new socket when Open made it (SparesAtOpen) in the
	// port's namespace; -1 once used, or when the builder makes it.
	spare int
	// growSpare is the socket for a later grow handover, made at open
	// with SparesAtOpen (else -1); the first handover passes it on.
	growSpare int
	// growNext: after this handover the port grows its ring once on
	// kernel drops (GrowFrameCount > FrameCount).
	growNext bool
	// checks counts Recvs with frames since the last drop check, and
	// drops is the kernel drop count at that check (grow only).
	checks int
	drops  uint64
	// seen counts the frames received since winStart (first handover
	// only): the ring is built once lazyMinFrames arrive within
	// lazyWindow.
	seen     int
	winStart time.Time
	prev     <-chan struct{} // the previous handover's builder (grow only)
	s2       *Port
	err      error
	retired  chan retired  // Recv hands the old socket to the builder to close
	stop     chan struct{} // Close: give up; close S2 if it was not adopted
	done     chan struct{} // the builder returned
}

// retired is a socket taken out of service, with its ring's mapping.
type retired struct {
	fd  int
	mem []byte
}

// growCheckEvery is how many Recvs that returned frames pass between two
// reads of a growable port's kernel drop counter (one getsockopt, at most
// once per growCheckEvery*packet.BatchSize frames).
var growCheckEvery = 64

// lazyMinFrames frames received within lazyWindow make a lazy port build
// its ring. A port seeing a few frames (IPv6's router solicitations and
// MLD reports at link-up, ARP) keeps receiving with recvmmsg and never
// pins a ring's memory: in a namespace of a thousand veths with IPv6 on,
// every port sees those, and built every ring.
var (
	lazyMinFrames = 64
	lazyWindow    = time.Second
)

func newLazyRing(id uint16, spare, growSpare int) *lazyRing {
	return &lazyRing{id: id, spare: spare, growSpare: growSpare, retired: make(chan retired, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// openLazy opens S1: a recvmmsg port in a fanout group of its own. If the
// kernel refuses the fanout group it opens an ordinary frame ring port.
func openLazy(ifname string, o Options) (*Port, error) {
	// With SparesAtOpen S2's socket is made now: a socket belongs to the
	// network namespace of the thread that creates it, and the builder
	// goroutine may run on any thread. Unbound and with protocol 0 it
	// receives nothing.
	spare, growSpare := -1, -1
	closeSpares := func() {
		for _, fd := range [...]int{spare, growSpare} {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
	}
	if o.SparesAtOpen {
		var err error
		if spare, err = newSpare(); err != nil {
			return nil, err
		}
		if o.GrowFrameCount > o.FrameCount {
			if growSpare, err = newSpare(); err != nil {
				closeSpares()
				return nil, err
			}
		}
	}
	o1 := o
	o1.RxMode = RxMmsg
	steer := !forceFanout && steerSupported()
	if !steer {
		o1.fanout = fanoutJoin{join: true, first: true}
	}
	p, err := open(ifname, o1)
	if err != nil {
		closeSpares()
		if errors.Is(err, errFanout) {
			o.Logger.Info("afpacket: fanout refused, setting the frame ring up at open", "port", ifname, "err", err)
			return open(ifname, o)
		}
		return nil, err
	}
	p.opts.LazyRing = true
	p.lazy = newLazyRing(p.fanoutID, spare, growSpare)
	p.lazy.steer = steer
	p.lazy.growNext = o.GrowFrameCount > o.FrameCount
	p.mm.oneSlot = true
	return p, nil
}

// newSpare makes an unbound packet socket for a handover, in the calling
// thread's network namespace.
func newSpare() (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	return fd, nil
}

// errFanout marks a refused fanout setup.
var errFanout = errors.New("packet fanout")

// joinFanout puts the bound socket in the fanout group o.fanout asks for
// (nothing when it asks for none). A first member creates a group with a
// fresh id and the program "member 0".
func (p *Port) joinFanout(o Options) error {
	f := o.fanout
	if !f.join {
		return nil
	}
	flags := unix.PACKET_FANOUT_CBPF | unix.PACKET_FANOUT_FLAG_IGNORE_OUTGOING
	id := int(f.id)
	if f.first {
		flags |= unix.PACKET_FANOUT_FLAG_UNIQUEID
		id = 0
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, id|flags<<16); err != nil {
		return fmt.Errorf("%w: join: %w", errFanout, err)
	}
	if !f.first {
		p.fanoutID = f.id
		return nil
	}
	v, err := unix.GetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
	if err != nil {
		return fmt.Errorf("%w: read id: %w", errFanout, err)
	}
	p.fanoutID = uint16(v)
	return setFanoutMember(p.fd, 0)
}

// setFanoutMember installs the group program "send every frame to member
// k". Replacing a program returns after an RCU grace period.
func setFanoutMember(fd int, k uint32) error {
	prog := [1]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: k}}
	fp := unix.SockFprog{Len: 1, Filter: &prog[0]}
	err := setsockoptFprog(fd, unix.SOL_PACKET, unix.PACKET_FANOUT_DATA, &fp)
	if err != nil {
		return fmt.Errorf("%w: program: %w", errFanout, err)
	}
	return nil
}

// setFilter attaches the socket filter "accept k bytes of every frame"
// (0: drop everything).
func setFilter(fd int, k uint32) error {
	prog := [1]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: k}}
	fp := unix.SockFprog{Len: 1, Filter: &prog[0]}
	if err := setsockoptFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return fmt.Errorf("socket filter: %w", err)
	}
	return nil
}

func setsockoptFprog(fd, level, opt int, fp *unix.SockFprog) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(fp)), unsafe.Sizeof(*fp), 0)
	if e != 0 {
		return e
	}
	return nil
}

// lazyStep runs in Recv after every fill: it starts the builder on the
// first frames (or, for a grow, once the kernel reported drops) and, once
// the new socket gets every frame, adopts it as soon as the old one is
// empty (refilling b from the new ring when b came back empty).
func (p *Port) lazyStep(b *packet.Batch) {
	lz := p.lazy
	switch lz.state.Load() {
	case lazyIdle:
		if b.N == 0 || lz.started {
			return
		}
		if !lz.grow {
			if now := time.Now(); now.Sub(lz.winStart) > lazyWindow {
				lz.winStart, lz.seen = now, 0
			}
			if lz.seen += b.N; lz.seen < lazyMinFrames {
				return
			}
		} else {
			if lz.checks++; lz.checks < growCheckEvery {
				return
			}
			lz.checks = 0
			if d := p.kernelDrops(); d == lz.drops {
				return
			} else {
				lz.drops = d
			}
		}
		lz.started = true
		if p.mm != nil {
			p.mm.oneSlot = false // traffic: drain the first socket a batch at a time
		}
		lz.state.Store(lazyBuilding)
		go p.buildRing(lz, p.fd)
	case lazySwitched:
		if b.N > 0 || (p.mm != nil && p.mm.got > 0) {
			return // the old socket still has frames: they go first
		}
		if p.mm == nil && p.fr.ready() {
			return // fillFrames stopped short of an empty ring (slab full)
		}
		p.adopt(lz)
		p.fill(b)
	case lazyFailed:
		if lz.grow {
			p.opts.Logger.Info("afpacket: larger frame ring refused, keeping the ring", "port", p.name,
				"frames", len(p.fr.frames), "err", lz.err)
		} else {
			p.opts.Logger.Warn("afpacket: lazy frame ring refused, receiving with recvmmsg", "port", p.name, "err", lz.err)
		}
		p.clearWake()
		if p.mm != nil {
			p.mm.oneSlot = false
		}
		// The builder has returned: spare sockets it did not use are ours.
		for _, fd := range [...]int{lz.spare, lz.growSpare} {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
		p.lazyDone, p.lazy = lz.done, nil
	}
}

// kernelDrops reads the kernel's drop counter into kdrops and returns the
// total.
func (p *Port) kernelDrops() uint64 {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.takeKernelDropsLocked()
}

// buildRing builds the new socket and its ring, routes every frame to it
// and waits for Recv to hand back the old socket (or for Close). cur is
// the port's socket when it started, a member of the fanout group.
func (p *Port) buildRing(lz *lazyRing, cur int) {
	defer close(lz.done)
	if lz.prev != nil {
		<-lz.prev // the first handover's builder closes S1 (a grace period)
	}
	o := p.opts
	o.RxMode, o.LazyRing = RxFrameRing, false
	if lz.grow {
		o.FrameCount = o.GrowFrameCount
	}
	var s2 *Port
	var err error
	if lz.spare < 0 {
		// Made here, not at open (Options.SparesAtOpen): this thread is
		// in the port's namespace, and Recv must not wait for it.
		lz.spare, err = newSpare()
	}
	switch {
	case err != nil:
	case lz.steer:
		s2, err = p.buildSteered(lz, o, cur)
	default:
		s2, err = p.buildFanout(lz, o, cur)
	}
	lz.s2, lz.err = s2, err
	newFd := -1
	if s2 != nil {
		newFd = s2.fd // adopt clears s2.fd
	}
	// Wake a Recv sleeping in poll on the old socket before publishing the
	// state, so that the adopting Recv consumes this wakeup.
	p.wake()
	if err != nil {
		lz.state.Store(lazyFailed)
		return
	}
	lz.state.Store(lazySwitched)
	select {
	case r := <-lz.retired:
		_ = unix.Close(r.fd) // an RCU grace period: not in Recv
		if r.mem != nil {
			_ = unix.Munmap(r.mem)
		}
		if lz.steer {
			// The old socket is gone (and, after a grace period, so is
			// any frame still in its hook): the steering program has
			// nobody to steer away from. Close waits for this goroutine
			// before it closes the socket.
			gracePeriod()
			_ = unix.SetsockoptInt(newFd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		}
	case <-lz.stop:
		s2.release()
	}
}

// buildFanout opens the new socket as member 1 of the port's fanout group
// and sends every frame to it.
func (p *Port) buildFanout(lz *lazyRing, o Options, cur int) (*Port, error) {
	o.fanout = fanoutJoin{join: true, id: lz.id, sock: lz.spare, haveSock: true}
	var err error
	if lz.grow {
		// The group has one member, the current socket, and the program
		// "member 1" selects it only modulo one member: send every frame
		// to member 0 explicitly before the new socket joins as member 1.
		err = setFanoutMember(cur, 0)
	}
	// Between bind and joining the group the new socket has a hook of its
	// own and would get copies of the frames the group gets too: a
	// drop-everything socket filter keeps it empty until it is a (still
	// idle) group member.
	if err == nil {
		err = setFilter(lz.spare, 0)
	}
	var s2 *Port
	if err == nil {
		lz.spare = -1 // open owns it now (and closes it if it fails)
		s2, err = open(p.name, o)
	}
	if err == nil {
		err = unix.SetsockoptInt(s2.fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		if err == nil {
			err = setFanoutMember(s2.fd, 1)
		}
		if err != nil {
			s2.release()
			s2 = nil
		}
	}
	return s2, err
}

// buildSteered opens the new socket outside any fanout group and steers
// every frame to it (steer_linux.go).
func (p *Port) buildSteered(lz *lazyRing, o Options, cur int) (*Port, error) {
	o.fanout = fanoutJoin{sock: lz.spare, haveSock: true}
	st, err := newSteer()
	if err != nil {
		return nil, err
	}
	defer st.close()
	if err := attachProg(cur, st.oldProg); err != nil {
		return nil, err
	}
	var s2 *Port
	// Bound with a drop-all filter the new socket takes nothing and
	// leaves d at 0 until the steering program replaces the filter.
	err = setFilter(lz.spare, 0)
	if err == nil {
		lz.spare = -1 // open owns it now (and closes it if it fails)
		s2, err = open(p.name, o)
	}
	if err == nil {
		if err = attachProg(s2.fd, st.newProg); err != nil {
			s2.release()
			s2 = nil
		}
	}
	if err != nil {
		// The old socket's program would still accept every frame;
		// without it the hook is cheaper.
		_ = unix.SetsockoptInt(cur, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		return nil, err
	}
	gracePeriod() // frames already past the new socket's hook reach the old one
	return s2, nil
}

// adopt makes the new socket and ring the port's and retires the old ones.
// After the first handover a port that may grow its ring waits for kernel
// drops to do so.
func (p *Port) adopt(lz *lazyRing) {
	s2 := lz.s2
	p.txMu.Lock()
	p.statsMu.Lock()
	// The old socket's kernel drop counter is read (and reset) one last time.
	kd := p.takeKernelDropsLocked()
	old := retired{fd: p.fd, mem: p.fr.mem}
	p.fd = s2.fd
	p.statsMu.Unlock()
	p.txMu.Unlock()
	p.fr, p.slab, p.mm = s2.fr, s2.slab, nil
	p.fill = p.fillFrames
	p.pfd[0].Fd = int32(p.fd)
	p.spinMax = s2.spinMax
	p.ringAdopted.Store(true)
	s2.fd, s2.fr = -1, rxFrames{}
	s2.release() // its eventfd
	p.clearWake()
	lz.retired <- old
	p.lazyDone, p.lazy = lz.done, nil
	p.opts.Logger.Debug("afpacket: frame ring took over", "port", p.name, "frames", len(p.fr.frames),
		"steered", lz.steer, "grown", lz.grow)
	if lz.growNext {
		g := newLazyRing(lz.id, lz.growSpare, -1)
		g.grow, g.steer, g.prev, g.drops = true, lz.steer, lz.done, kd
		lz.growSpare = -1
		p.lazy = g
	}
}

// wake makes a Recv sleeping in poll return (the eventfd Close also uses).
func (p *Port) wake() {
	var one [8]byte
	ne.PutUint64(one[:], 1)
	_, _ = unix.Write(p.efd, one[:])
}

// clearWake consumes a wake. After Close the eventfd is signalled again
// and stays so.
func (p *Port) clearWake() {
	var buf [8]byte
	_, _ = unix.Read(p.efd, buf[:])
	if p.closed.Load() {
		p.wake()
	}
}

// closeLazy ends the builder goroutine after Close released the port: the
// new socket, when it was never adopted, is closed by it.
func (p *Port) closeLazy() {
	if lz := p.lazy; lz != nil {
		p.lazy = nil
		if lz.started {
			close(lz.stop)
			<-lz.done
		} else if lz.prev != nil {
			<-lz.prev
		}
		for _, fd := range [...]int{lz.spare, lz.growSpare} {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
		return
	}
	if p.lazyDone != nil {
		<-p.lazyDone
	}
}
