//go:build linux

package afpacket

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loadStatus reads a ring status word the kernel writes concurrently.
// b starts at the word, which is 4-byte aligned in the page-aligned ring.
func loadStatus(b []byte) uint32 {
	_ = b[3]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0])))
}

// storeStatus hands a ring block back to the kernel.
func storeStatus(b []byte, v uint32) {
	_ = b[3]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), v)
}

// sendmmsg sends msgs without blocking and returns how many went out.
// x/sys/unix has no wrapper; the vector and the buffers it points to are Go
// memory that the caller keeps alive across the call.
//
// It is a raw system call: MSG_DONTWAIT means it never sleeps, but on a
// veth it runs the receiving host's softirq work for every frame, so a
// batch takes tens of microseconds. Through unix.Syscall6 the runtime
// marks the thread as in a system call, sysmon retakes its P after 20 µs
// and wakes another thread to run it, and the poll thread must get a P
// back on return: a context switch or two per batch on a 2-vCPU machine,
// where the other CPU is the sender's (see doc.go for the measurement).
func sendmmsg(fd int, msgs []unix.Mmsghdr) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])),
		uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// recvmmsg receives into msgs and returns how many messages arrived. Every
// caller passes MSG_DONTWAIT, so it is a raw system call, as sendmmsg.
func recvmmsg(fd int, msgs []unix.Mmsghdr, flags int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])),
		uintptr(len(msgs)), uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// ptrOf returns a sockaddr's address for a msghdr's msg_name.
func ptrOf(sa *unix.RawSockaddrLinklayer) unsafe.Pointer { return unsafe.Pointer(sa) }

// packetDrops reads and resets the socket's kernel drop counter
// (PACKET_STATISTICS, tp_drops), into a value on the stack: x/sys/unix's
// GetsockoptTpacketStatsV3 returns a heap pointer, one allocation a call,
// and Recv of a growable port reads the counter now and then.
func packetDrops(fd int) (uint64, error) {
	var st unix.TpacketStatsV3
	n := uint32(unsafe.Sizeof(st))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, e
	}
	return uint64(st.Drops), nil
}
