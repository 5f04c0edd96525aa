package main

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"golang.org/x/sys/unix"
)

// tapPort is a minimal TAP-backed netdev.Port used for internal and tap
// interfaces until datapath/netdev/tap lands: one read or write system call
// per frame, no offloads. The device lives as long as the descriptor
// (non-persistent), so closing the port removes it, as OVS does with
// internal ports of a deleted bridge.
type tapPort struct {
	name string
	f    *os.File
	rc   syscall.RawConn
	pkts [packet.BatchSize]*packet.Packet

	closed                                 atomic.Bool
	rxPackets, rxBytes, txPackets, txBytes atomic.Uint64
	txDropped                              atomic.Uint64
}

var _ netdev.Port = (*tapPort)(nil)

// maxFrame bounds one TAP frame: 64 KiB covers any MTU the kernel allows.
const maxFrame = 65535

type ifreqFlags struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

func openTap(name string) (*tapPort, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var req ifreqFlags
	copy(req.name[:], name)
	req.flags = unix.IFF_TAP | unix.IFF_NO_PI
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); errno != 0 {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("create tap %s: %w", name, errno)
	}
	p := &tapPort{name: name, f: os.NewFile(uintptr(fd), name)}
	rc, err := p.f.SyscallConn()
	if err != nil {
		_ = p.f.Close()
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	p.rc = rc
	for i := range p.pkts {
		p.pkts[i] = packet.New(make([]byte, packet.Headroom+maxFrame), 0)
	}
	return p, nil
}

// Name implements netdev.Port.
func (p *tapPort) Name() string { return p.name }

// BatchSize implements netdev.Port.
func (p *tapPort) BatchSize() int { return packet.BatchSize }

// Recv implements netdev.Port: waits up to 100 ms for frames through the
// Go netpoller, so that Close wakes it at once.
func (p *tapPort) Recv(b *packet.Batch) error {
	b.Reset()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	_ = p.f.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var rerr error
	err := p.rc.Read(func(fd uintptr) bool {
		for b.N < packet.BatchSize {
			pkt := p.pkts[b.N]
			buf, _, _ := pkt.Buffer()
			n, err := unix.Read(int(fd), buf[packet.Headroom:])
			if err != nil || n <= 0 {
				if errors.Is(err, unix.EAGAIN) {
					return b.N > 0 // nothing yet: wait in the poller
				}
				rerr = err
				return true
			}
			pkt.Reset(buf, packet.Headroom, packet.Headroom+n)
			b.Add(pkt)
			p.rxPackets.Add(1)
			p.rxBytes.Add(uint64(n))
		}
		return true
	})
	switch {
	case p.closed.Load():
		return netdev.ErrClosed
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case err != nil:
		return fmt.Errorf("read tap %s: %w", p.name, err)
	case rerr != nil && b.N == 0 && !errors.Is(rerr, unix.EIO):
		return fmt.Errorf("read tap %s: %w", p.name, rerr)
	}
	return nil
}

// Send implements netdev.Port.
func (p *tapPort) Send(b *packet.Batch) error {
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	err := p.rc.Write(func(fd uintptr) bool {
		for _, pkt := range b.Packets() {
			if _, err := unix.Write(int(fd), pkt.Data()); err != nil {
				p.txDropped.Add(1)
				continue
			}
			p.txPackets.Add(1)
			p.txBytes.Add(uint64(pkt.Len()))
		}
		return true
	})
	if err != nil && p.closed.Load() {
		return netdev.ErrClosed
	}
	return nil
}

// Stats implements netdev.Port.
func (p *tapPort) Stats() netdev.Stats {
	return netdev.Stats{RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(), TxDropped: p.txDropped.Load()}
}

// Close implements netdev.Port.
func (p *tapPort) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.f.Close()
}
