//go:build linux

package afpacket

import (
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
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
	m                *ebpf.Map
	oldProg, newProg *ebpf.Program
}

func newSteer() (*steer, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		return nil, fmt.Errorf("steer map: %w", err)
	}
	s := &steer{m: m}
	if s.oldProg, err = loadSocketFilter(steerOldProg(m.FD())); err != nil {
		s.close()
		return nil, fmt.Errorf("steer program: %w", err)
	}
	if s.newProg, err = loadSocketFilter(steerNewProg(m.FD())); err != nil {
		s.close()
		return nil, fmt.Errorf("steer program: %w", err)
	}
	return s, nil
}

// close releases the descriptors; attached programs stay alive (with
// their map) as long as a socket holds them.
func (s *steer) close() {
	for _, p := range [...]*ebpf.Program{s.oldProg, s.newProg} {
		if p != nil {
			_ = p.Close()
		}
	}
	_ = s.m.Close()
	s.oldProg, s.newProg = nil, nil
}

// attachProg sets prog as fd's socket filter, replacing any other
// atomically.
func attachProg(fd int, prog *ebpf.Program) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ATTACH_BPF, prog.FD()); err != nil {
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

// lookupD puts &d (this CPU's word) or nil in r0.
func lookupD(mapFd int) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.RFP, -4, 0, asm.Word), // key 0
		asm.LoadMapPtr(asm.R1, mapFd),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
	}
}

// acceptAll is a socket filter's "take the whole frame".
const acceptAll = -1

// steerNewProg: d = 1; accept.
func steerNewProg(mapFd int) asm.Instructions {
	return append(lookupD(mapFd),
		asm.JEq.Imm(asm.R0, 0, "accept"),
		asm.StoreImm(asm.R0, 0, 1, asm.Word),
		asm.Mov.Imm(asm.R0, acceptAll).WithSymbol("accept"),
		asm.Return())
}

// steerOldProg: accept iff d == 0.
func steerOldProg(mapFd int) asm.Instructions {
	return append(lookupD(mapFd),
		asm.JEq.Imm(asm.R0, 0, "accept"), // no map value (cannot happen): accept
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Word),
		asm.Mov.Imm(asm.R0, 0),
		asm.JNE.Imm(asm.R1, 0, "out"),
		asm.Mov.Imm(asm.R0, acceptAll).WithSymbol("accept"),
		asm.Return().WithSymbol("out"))
}

func loadSocketFilter(prog asm.Instructions) (*ebpf.Program, error) {
	return ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SocketFilter, License: "GPL", Instructions: prog})
}
