package afpacket

import "time"

// SetMmsgBatch sets how many messages one recvmmsg asks for in ports opened
// afterwards, and returns the previous value. For measurements only.
func SetMmsgBatch(n int) int {
	old := mmsgBatch
	mmsgBatch = n
	return old
}

// SetCoalesce sets how long a busy frame-ring Recv waits to complete a
// partial batch, and returns the previous value. For measurements only.
func SetCoalesce(d time.Duration) time.Duration {
	old := coalesceMax
	coalesceMax = d
	return old
}
