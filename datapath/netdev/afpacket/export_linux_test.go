package afpacket

// SetMmsgBatch sets how many messages one recvmmsg asks for in ports opened
// afterwards, and returns the previous value. For measurements only.
func SetMmsgBatch(n int) int {
	old := mmsgBatch
	mmsgBatch = n
	return old
}
