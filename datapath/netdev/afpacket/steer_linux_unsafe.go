//go:build linux

package afpacket

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steered handover (the lazy ring's handover without a fanout group).
//
// Every frame for the device passes the hooks of all packet sockets bound
// to it, one after the other on the same CPU inside one softirq pass, the
// newest socket's hook first (the kernel adds packet handlers at the head
// of the device's list). A handover needs each frame to land in exactly
// one of the two sockets, decided once per frame. The steer map is a
// per-CPU array of one word, d, "the new socket took the frame on this
// CPU". The old socket gets the socket filter program "accept iff d is 0"
// (d starts at 0, so it still takes everything). The new socket is bound
// with a drop-all classic filter, which leaves d alone; the switch replaces
// that filter with the program "d = 1, accept". For each frame the new
// socket's hook runs first and either leaves d at 0 (the old filter was
// still in place when the frame got there: the old socket takes it) or
// sets it to 1 (the new socket takes it, the old one refuses it), so
// nothing is lost or delivered twice, and per CPU every frame after the
// first one the new socket took goes to it too. Then an RCU grace period
// (membarrier MEMBARRIER_CMD_GLOBAL, which is synchronize_rcu) waits for
// frames still on their way into the old socket; after it the old socket
// gets nothing more and Recv drains it before it adopts the new one. Once
// the old socket is closed the new one's program is detached: both
// sockets end up with no filter and no fanout group, so the hook on the
// sender's CPU costs no more than a ring set up at open.
//
// Were the hooks ever run oldest first, the old socket would read the
// previous frame's d: the first frame per CPU after the switch could then
// be delivered twice, but none lost.

// steerSupported reports, once per process, whether the kernel loads the
// steering programs and offers a user-space RCU grace period.
var steerSupported = sync.OnceValue(func() bool {
	r, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdQuery, 0, 0)
	if e != 0 || r&membarrierCmdGlobal == 0 {
		return false
	}
	s, err := newSteer()
	if err != nil {
		return false
	}
	s.close()
	return true
})

// forceFanout, set by tests, makes lazy ports opened afterwards use the
// fanout group handover, as on a kernel without the steering programs.
var forceFanout bool

const (
	membarrierCmdQuery  = 0
	membarrierCmdGlobal = 1
)

// steer is one handover's map and programs.
type steer struct {
	mapFd, oldProg, newProg int
}

func newSteer() (*steer, error) {
	s := &steer{mapFd: -1, oldProg: -1, newProg: -1}
	attr := struct {
		mapType, keySize, valueSize, maxEntries, mapFlags uint32
	}{unix.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, 0}
	fd, err := bpf(unix.BPF_MAP_CREATE, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return nil, fmt.Errorf("steer map: %w", err)
	}
	s.mapFd = fd
	if s.oldProg, err = loadSocketFilter(steerOldProg(fd)); err != nil {
		s.close()
		return nil, fmt.Errorf("steer program: %w", err)
	}
	if s.newProg, err = loadSocketFilter(steerNewProg(fd)); err != nil {
		s.close()
		return nil, fmt.Errorf("steer program: %w", err)
	}
	return s, nil
}

// close releases the descriptors; attached programs stay alive (with
// their map) as long as a socket holds them.
func (s *steer) close() {
	for _, fd := range [...]int{s.mapFd, s.oldProg, s.newProg} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
	s.mapFd, s.oldProg, s.newProg = -1, -1, -1
}

// attach sets prog as fd's socket filter, replacing any other atomically.
func attachProg(fd, prog int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog); err != nil {
		return fmt.Errorf("attach steer program: %w", err)
	}
	return nil
}

// gracePeriod waits until every CPU has left the softirq pass it was in.
// Should membarrier fail after the probe found it, a pause far longer than
// any softirq pass stands in for it.
func gracePeriod() {
	if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdGlobal, 0, 0); e != 0 {
		time.Sleep(100 * time.Millisecond)
	}
}

// bpfInsn is struct bpf_insn.
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

func insn(code uint8, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{code: code, regs: dst | src<<4, off: off, imm: imm}
}

// eBPF opcodes used below.
const (
	bpfStMemW    = 0x62 // *(u32 *)(dst + off) = imm
	bpfLdxMemW   = 0x61 // dst = *(u32 *)(src + off)
	bpfLdImm64   = 0x18
	bpfMov64X    = 0xbf
	bpfMov64K    = 0xb7
	bpfAdd64K    = 0x07
	bpfCall      = 0x85
	bpfJeqK      = 0x15
	bpfJneK      = 0x55
	bpfExit      = 0x95
	fnLookupElem = 1 // bpf_map_lookup_elem
	acceptAll    = -1
)

// lookupD puts &d (this CPU's word) or nil in r0.
func lookupD(mapFd int) []bpfInsn {
	return []bpfInsn{
		insn(bpfStMemW, 10, 0, -4, 0), // key 0
		insn(bpfLdImm64, 1, unix.BPF_PSEUDO_MAP_FD, 0, int32(mapFd)),
		insn(0, 0, 0, 0, 0),
		insn(bpfMov64X, 2, 10, 0, 0),
		insn(bpfAdd64K, 2, 0, 0, -4),
		insn(bpfCall, 0, 0, 0, fnLookupElem),
	}
}

// steerNewProg: d = 1; accept.
func steerNewProg(mapFd int) []bpfInsn {
	return append(lookupD(mapFd),
		insn(bpfJeqK, 0, 0, 1, 0),
		insn(bpfStMemW, 0, 0, 0, 1),
		insn(bpfMov64K, 0, 0, 0, acceptAll),
		insn(bpfExit, 0, 0, 0, 0))
}

// steerOldProg: accept iff d == 0.
func steerOldProg(mapFd int) []bpfInsn {
	return append(lookupD(mapFd),
		insn(bpfJeqK, 0, 0, 3, 0), // no map value (cannot happen): accept
		insn(bpfLdxMemW, 1, 0, 0, 0),
		insn(bpfMov64K, 0, 0, 0, 0),
		insn(bpfJneK, 1, 0, 1, 0),
		insn(bpfMov64K, 0, 0, 0, acceptAll),
		insn(bpfExit, 0, 0, 0, 0))
}

var license = [4]byte{'G', 'P', 'L', 0}

func loadSocketFilter(prog []bpfInsn) (int, error) {
	attr := struct {
		progType, insnCnt uint32
		insns, license    uint64
	}{unix.BPF_PROG_TYPE_SOCKET_FILTER, uint32(len(prog)),
		uint64(uintptr(unsafe.Pointer(&prog[0]))), uint64(uintptr(unsafe.Pointer(&license[0])))}
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(prog)
	return fd, err
}

// bpf is the bpf(2) system call; the attribute's pointers point to Go
// memory that the caller keeps alive across it.
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
