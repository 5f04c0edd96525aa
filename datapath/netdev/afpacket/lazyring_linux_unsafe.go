//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// Lazy frame ring (Options.LazyRing).
//
// Setting up a frame ring costs an RCU grace period (packet_set_ring calls
// synchronize_net) and pins the ring's pages; setting it on a bound socket
// also drops every frame while the socket's hook is unregistered. So a lazy
// port starts as a plain bound socket (S1, recvmmsg, live at once) that is
// the only member of a PACKET_FANOUT group whose classic BPF program sends
// every frame to member 0. On the first frames, a goroutine builds the ring
// on a second socket (S2, created at open: a socket lives in the namespace
// of the thread that makes it) before binding it, binds it and joins the
// group: it is member 1 and still gets nothing (a drop-all socket filter
// covers the moment between bind and join, when S2 has a hook of its own
// and would see copies of S1's frames). Then it switches the program to
// "member 1". The kernel replaces a fanout program only after a grace
// period (synchronize_net), so when that setsockopt returns no frame is on
// its way to S1 any more: every later frame is in S2's ring. Recv drains S1
// to empty (those frames are older than any in the ring), then adopts S2's
// socket and ring and hands S1 to the goroutine to close. When S1 leaves
// the group, S2 becomes member 0 and the program's 1 modulo one member
// still selects it.

// Lazy ring states.
const (
	lazyIdle     int32 = iota // S1 only; no goroutine yet
	lazyBuilding              // the goroutine builds S2
	lazySwitched              // S2 gets every new frame; S1 is being drained
	lazyFailed                // S2 could not be built: S1 stays
)

// lazyRing is a lazy port's handover state. Recv (under rxMu) owns it; the
// builder goroutine writes s2 and err before it publishes a state.
type lazyRing struct {
	state   atomic.Int32
	started bool // the builder goroutine runs or ran
	id      uint16
	spare   int // S2's socket, made at open in the port's namespace (-1 once used)
	s2      *Port
	err     error
	retired chan int      // Recv hands S1's descriptor to the builder to close
	stop    chan struct{} // Close: give up; close S2 if it was not adopted
	done    chan struct{} // the builder returned
}

// openLazy opens S1: a recvmmsg port in a fanout group of its own. If the
// kernel refuses the fanout group it opens an ordinary frame ring port.
func openLazy(ifname string, o Options) (*Port, error) {
	// S2's socket is made now: a socket belongs to the network namespace
	// of the thread that creates it, and the builder goroutine may run on
	// any thread. Unbound and with protocol 0 it receives nothing.
	spare, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	o1 := o
	o1.RxMode = RxMmsg
	o1.fanout = fanoutJoin{join: true, first: true}
	p, err := open(ifname, o1)
	if err != nil {
		_ = unix.Close(spare)
		if errors.Is(err, errFanout) {
			o.Logger.Info("afpacket: fanout refused, setting the frame ring up at open", "port", ifname, "err", err)
			return open(ifname, o)
		}
		return nil, err
	}
	p.opts.LazyRing = true
	p.lazy = &lazyRing{id: p.fanoutID, spare: spare, retired: make(chan int, 1), stop: make(chan struct{}), done: make(chan struct{})}
	return p, nil
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
// first frames and, once S2 gets every frame, adopts it as soon as S1 is
// empty (refilling b from the ring when b came back empty).
func (p *Port) lazyStep(b *packet.Batch) {
	lz := p.lazy
	switch lz.state.Load() {
	case lazyIdle:
		if b.N > 0 && !lz.started {
			lz.started = true
			lz.state.Store(lazyBuilding)
			go p.buildRing(lz)
		}
	case lazySwitched:
		if b.N > 0 || p.mm.got > 0 {
			return // S1 still has frames: they go first
		}
		p.adopt(lz)
		p.fill(b)
	case lazyFailed:
		p.opts.Logger.Warn("afpacket: lazy frame ring refused, receiving with recvmmsg", "port", p.name, "err", lz.err)
		p.clearWake()
		p.lazyDone, p.lazy = lz.done, nil
	}
}

// buildRing builds S2, routes every frame to it and waits for Recv to hand
// back S1 (or for Close).
func (p *Port) buildRing(lz *lazyRing) {
	defer close(lz.done)
	o := p.opts
	o.RxMode, o.LazyRing = RxFrameRing, false
	o.fanout = fanoutJoin{join: true, id: lz.id, sock: lz.spare, haveSock: true}
	// Between bind and joining the group S2 has a hook of its own and
	// would get copies of frames S1 gets too: a drop-everything socket
	// filter keeps it empty until it is a (still idle) group member.
	err := setFilter(lz.spare, 0)
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
	lz.s2, lz.err = s2, err
	// Wake a Recv sleeping in poll on S1 before publishing the state, so
	// that the adopting Recv consumes this wakeup.
	p.wake()
	if err != nil {
		lz.state.Store(lazyFailed)
		return
	}
	lz.state.Store(lazySwitched)
	select {
	case fd := <-lz.retired:
		_ = unix.Close(fd) // an RCU grace period: not in Recv
	case <-lz.stop:
		s2.release()
	}
}

// adopt makes S2's socket and ring the port's and retires S1.
func (p *Port) adopt(lz *lazyRing) {
	s2 := lz.s2
	p.txMu.Lock()
	p.statsMu.Lock()
	// S1's kernel drop counter is read (and reset) one last time.
	if st, err := unix.GetsockoptTpacketStatsV3(p.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		p.kdrops += uint64(st.Drops)
	}
	old := p.fd
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

// closeLazy ends the builder goroutine after Close released the port: S2,
// when it was never adopted, is closed by it.
func (p *Port) closeLazy() {
	if lz := p.lazy; lz != nil {
		p.lazy = nil
		if lz.started {
			close(lz.stop)
			<-lz.done
		}
		if lz.spare >= 0 {
			_ = unix.Close(lz.spare)
		}
		return
	}
	if p.lazyDone != nil {
		<-p.lazyDone
	}
}
