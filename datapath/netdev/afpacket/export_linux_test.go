package afpacket

// SetMmsgBatch sets how many messages one recvmmsg asks for in ports opened
// afterwards, and returns the previous value. For measurements only.
func SetMmsgBatch(n int) int {
	old := mmsgBatch
	mmsgBatch = n
	return old
}

// SetFailFrameRing makes the frame ring setup of ports opened afterwards
// fail with err, as if the kernel refused it (nil restores). Returns the
// previous value.
func SetFailFrameRing(err error) error {
	old := failFrameRing
	failFrameRing = err
	return old
}

// WaitMS returns the timeout of p's next poll in milliseconds.
func WaitMS(p *Port) int { return p.wait.MS() }
