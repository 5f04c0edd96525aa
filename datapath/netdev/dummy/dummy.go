package dummy

import (
	"sync"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// pollInterval bounds how long Recv blocks with nothing to return, so that
// a poll loop notices a stop request without Close.
const pollInterval = 20 * time.Millisecond

// bufSize is the size of each receive buffer: headroom plus a frame of up
// to 2048 bytes; larger frames get a larger buffer on demand.
const bufSize = packet.Headroom + 2048

// Port is an in-memory port. All methods are safe for concurrent use,
// except that only one goroutine may call Recv (the netdev.Port contract).
type Port struct {
	name string

	mu      sync.Mutex
	queue   [][]byte
	closed  bool
	capture bool
	sent    [][]byte
	stats   netdev.Stats

	repeat  [][]byte // SetRepeat: frames Recv returns forever
	repPos  int
	rxReady chan struct{} // signalled by Inject and Close
	txReady chan struct{} // signalled by Send

	// Receive side, owned by the Recv caller.
	bufs  [packet.BatchSize][]byte
	pkts  [packet.BatchSize]packet.Packet
	timer *time.Timer
}

var _ netdev.Port = (*Port)(nil)

// New returns an open port that captures sent frames.
func New(name string) *Port {
	return &Port{
		name:    name,
		capture: true,
		rxReady: make(chan struct{}, 1),
		txReady: make(chan struct{}, 1),
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Inject queues copies of frames for Recv.
func (p *Port) Inject(frames ...[]byte) {
	p.mu.Lock()
	for _, f := range frames {
		p.queue = append(p.queue, append([]byte(nil), f...))
	}
	p.mu.Unlock()
	signal(p.rxReady)
}

// SetRepeat makes Recv return full batches cycling through copies of
// frames forever, instead of injected frames, like a NIC under constant
// load; nil turns it off. Each Recv copies the frames into the port's
// buffers (as DMA would) and allocates nothing. Benchmarks use it.
func (p *Port) SetRepeat(frames [][]byte) {
	cp := make([][]byte, len(frames))
	for i, f := range frames {
		cp[i] = append([]byte(nil), f...)
	}
	p.mu.Lock()
	p.repeat, p.repPos = cp, 0
	p.mu.Unlock()
	signal(p.rxReady)
}

// Pending returns how many injected frames Recv has not returned yet.
func (p *Port) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// SetCapture turns capturing of sent frames on or off (benchmarks turn it
// off; counters are kept either way).
func (p *Port) SetCapture(on bool) {
	p.mu.Lock()
	p.capture = on
	p.mu.Unlock()
}

// Sent returns copies of the frames sent so far, oldest first.
func (p *Port) Sent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.sent))
	copy(out, p.sent)
	return out
}

// TakeSent returns the frames sent so far and forgets them.
func (p *Port) TakeSent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent
	p.sent = nil
	return out
}

// WaitSent waits until at least n frames have been captured or timeout
// passes, and returns the captured frames (possibly fewer than n).
func (p *Port) WaitSent(n int, timeout time.Duration) [][]byte {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		if len(p.sent) >= n {
			out := append([][]byte(nil), p.sent...)
			p.mu.Unlock()
			return out
		}
		p.mu.Unlock()
		select {
		case <-p.txReady:
		case <-deadline.C:
			return p.Sent()
		}
	}
}

// WaitDrained waits until Recv has taken every injected frame or timeout
// passes, and reports whether the queue is empty.
func (p *Port) WaitDrained(timeout time.Duration) bool {
	end := time.Now().Add(timeout)
	for p.Pending() > 0 {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// Type returns "dummy", the type dpctl/show prints for the port.
func (p *Port) Type() string { return "dummy" }

// Name implements netdev.Port.
func (p *Port) Name() string { return p.name }

// BatchSize implements netdev.Port.
func (p *Port) BatchSize() int { return packet.BatchSize }

// Recv implements netdev.Port: it returns up to BatchSize injected frames in
// the port's own buffers, waiting up to a short poll interval for some.
func (p *Port) Recv(b *packet.Batch) error {
	b.Reset()
	p.mu.Lock()
	if len(p.queue) == 0 && len(p.repeat) == 0 && !p.closed {
		p.mu.Unlock()
		if p.timer == nil {
			p.timer = time.NewTimer(pollInterval)
		} else {
			p.timer.Reset(pollInterval)
		}
		select {
		case <-p.rxReady:
		case <-p.timer.C:
		}
		p.timer.Stop()
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if p.closed {
		return netdev.ErrClosed
	}
	if len(p.repeat) > 0 {
		p.recvRepeatLocked(b)
		return nil
	}
	n := min(len(p.queue), packet.BatchSize)
	for i := 0; i < n; i++ {
		f := p.queue[i]
		if len(p.bufs[i]) < packet.Headroom+len(f) {
			p.bufs[i] = make([]byte, max(bufSize, packet.Headroom+len(f)))
		}
		copy(p.bufs[i][packet.Headroom:], f)
		p.pkts[i].Reset(p.bufs[i], packet.Headroom, packet.Headroom+len(f))
		b.Add(&p.pkts[i])
		p.stats.RxPackets++
		p.stats.RxBytes += uint64(len(f))
	}
	clear(p.queue[:n])
	p.queue = p.queue[n:]
	if len(p.queue) > 0 {
		signal(p.rxReady)
	}
	return nil
}

func (p *Port) recvRepeatLocked(b *packet.Batch) {
	for i := 0; i < packet.BatchSize; i++ {
		f := p.repeat[p.repPos]
		p.repPos = (p.repPos + 1) % len(p.repeat)
		if len(p.bufs[i]) < packet.Headroom+len(f) {
			p.bufs[i] = make([]byte, max(bufSize, packet.Headroom+len(f)))
		}
		copy(p.bufs[i][packet.Headroom:], f)
		p.pkts[i].Reset(p.bufs[i], packet.Headroom, packet.Headroom+len(f))
		b.Add(&p.pkts[i])
		p.stats.RxPackets++
		p.stats.RxBytes += uint64(len(f))
	}
}

// Send implements netdev.Port: it counts the frames and captures copies
// when capturing is on.
func (p *Port) Send(b *packet.Batch) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return netdev.ErrClosed
	}
	for _, pkt := range b.Packets() {
		p.stats.TxPackets++
		p.stats.TxBytes += uint64(pkt.Len())
		if p.capture {
			p.sent = append(p.sent, append([]byte(nil), pkt.Data()...))
		}
	}
	p.mu.Unlock()
	signal(p.txReady)
	return nil
}

// Stats implements netdev.Port.
func (p *Port) Stats() netdev.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close implements netdev.Port. A blocked Recv returns ErrClosed.
func (p *Port) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.rxReady)
	return nil
}
