package afpacket

import "golang.org/x/sys/unix"

// SetMmsgBatch sets how many messages one recvmmsg asks for in ports opened
// afterwards, and returns the previous value. For measurements only.
func SetMmsgBatch(n int) int {
	return swap(&mmsgBatch, n)
}

// SetFailFrameRing makes the frame ring setup of ports opened afterwards
// fail with err, as if the kernel refused it (nil restores). Returns the
// previous value.
func SetFailFrameRing(err error) error {
	return swap(&failFrameRing, err)
}

// WaitMS returns the timeout of p's next poll in milliseconds.
func WaitMS(p *Port) int { return p.wait.MS() }

// SetGrowCheckEvery sets how many Recvs with frames pass between two drop
// checks of a growable port, and returns the previous value.
func SetGrowCheckEvery(n int) int {
	return swap(&growCheckEvery, n)
}

// RingFrames returns the number of frames in p's frame ring (0 without one).
func RingFrames(p *Port) int {
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	return len(p.fr.frames)
}

// SetForceFanout makes lazy ports opened afterwards hand over through a
// fanout group instead of the steering programs, and returns the previous
// value.
func SetForceFanout(v bool) bool {
	return swap(&forceFanout, v)
}

// SteerSupported reports whether lazy ports hand over with the steering
// programs.
func SteerSupported() bool { return steerSupported() }

// FanoutGroup returns PACKET_FANOUT of p's socket: 0 outside a group.
func FanoutGroup(p *Port) int {
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	v, _ := unix.GetsockoptInt(p.fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
	return v
}

// SetLazyMinFrames sets how many frames within the window make lazy ports
// build their ring, and returns the previous value.
func SetLazyMinFrames(n int) int {
	return swap(&lazyMinFrames, n)
}

// MmsgSlots returns how many recvmmsg messages of p have a slab slot (0
// for a ring port).
func MmsgSlots(p *Port) int {
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	if p.mm == nil {
		return 0
	}
	return p.mm.active
}

// swap sets *p to v and returns its previous value, for the test knobs above.
func swap[T any](p *T, v T) T {
	old := *p
	*p = v
	return old
}
