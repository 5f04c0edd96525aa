package server

import (
	"syscall"
	"unsafe"
)

// rawWrite writes b to the non-blocking socket fd with a raw system call,
// without telling the Go scheduler that the thread is in a system call. A
// fan-out makes a hundred of these writes in a row, each a few
// microseconds; the scheduler's bookkeeping around an ordinary syscall.Write
// (and the monitor thread taking the processor away from a write the kernel
// preempted) cost a measurable share of the server's CPU per commit. The
// socket is non-blocking, so the call never waits.
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}

// rawRead reads from the non-blocking socket fd with a raw system call, for
// the same reason: an ordinary system call wakes the runtime's monitor
// thread from its deep sleep whenever the process was idle, and it then
// polls every 20-70 us for the next millisecond, which at one request per
// commit kept it awake for good.
func rawRead(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), errno
}

// writeNoWait writes as much of b as the non-blocking socket fd takes
// without waiting (rawWrite, retried on EINTR) and returns how much that was.
func writeNoWait(fd uintptr, b []byte) int {
	n := 0
	for n < len(b) {
		m, errno := rawWrite(fd, b[n:])
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || m <= 0 {
			break
		}
		n += m
	}
	return n
}
