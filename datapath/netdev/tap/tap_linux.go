package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

var _ netdev.Port = (*Port)(nil)
var _ netdev.OffloadCaps = (*Port)(nil)

const (
	tunDevice  = "/dev/net/tun"
	iffTunExcl = 0x8000 // IFF_TUN_EXCL: fail instead of attaching to an existing device
	// maxRead is the largest frame a TAP with TSO hands over: a 64 KiB GSO
	// frame plus Ethernet and VLAN headers.
	maxRead = 65536 + 14 + 4
	// slabSize holds at least seven maximal reads, or a full batch of
	// MTU-sized ones, per Recv.
	slabSize    = 512 << 10
	slotAlign   = 64
	tunOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_TSO_ECN
	tunUSO      = unix.TUN_F_USO4 | unix.TUN_F_USO6
)

// Port is a TAP device descriptor held by the switch.
type Port struct {
	name    string
	fd      int
	efd     int
	created bool
	persist bool
	vnet    int // header size in front of every frame: 0 or offload.VnetHdrSize
	caps    offload.Caps
	offErr  error // *offload.RefusedError when the kernel refused an offload
	mtu     int
	closed  atomic.Bool

	rxMu sync.Mutex
	slab []byte
	pkts [packet.BatchSize]packet.Packet
	pfd  [2]unix.PollFd
	// wait is the next poll's timeout, backing off while the port is idle
	// (see Options.IdlePollTimeout).
	wait netdev.PollWait

	txMu    sync.Mutex
	hdr     [offload.VnetHdrSize]byte
	iov     [2]unix.Iovec
	scratch []byte
	segOut  func([]byte)
	txErr   error
	txDown  bool // a write in this Send found the device down (EIO)

	rxPackets, rxBytes, rxDropped, rxErrors atomic.Uint64
	txPackets, txBytes, txDropped, txErrors atomic.Uint64
}

// Exists reports whether a network device called name exists in the calling
// thread's network namespace. It asks the kernel for that one name
// (SIOCGIFINDEX), whatever the number of links.
func Exists(name string) bool {
	_, err := ifreqIoctl(name, unix.SIOCGIFINDEX)
	return err == nil
}

// Create makes a new TAP device called name (a kernel-chosen "tap%d" when
// name is empty), owned by the returned port, sets its MAC and MTU, and
// brings it up unless opts.Down. It fails with an error wrapping unix.EEXIST
// when a device of that name exists. Close removes the device.
//
// Its cost does not grow with the number of links in the namespace: the
// name check is TUNSETIFF's own (IFF_TUN_EXCL), and MAC, MTU and the up flag
// go in one RTM_SETLINK addressed by name.
func Create(name string, opts Options) (*Port, error) {
	o := opts.withDefaults()
	p, err := attach(name, o, iffTunExcl)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			// With IFF_TUN_EXCL, TUNSETIFF fails with EBUSY exactly when
			// a device of that name exists, TAP or not.
			err = unix.EEXIST
		}
		return nil, fmt.Errorf("create tap %s: %w", name, err)
	}
	p.created = true
	if err := p.configure(o); err != nil {
		p.release()
		return nil, fmt.Errorf("create tap %s: %w", p.name, err)
	}
	return p, nil
}

// Open attaches to an existing TAP device (type=tap on a persistent TAP). If
// another process holds the device, as qemu holds the taps libvirt creates,
// it falls back to an AF_PACKET port on it and returns that instead. It
// sets neither MAC nor MTU, and Close leaves the device in place.
func Open(name string, opts Options) (netdev.Port, error) {
	o := opts.withDefaults()
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("open tap %s: %w: %w", name, unix.ENODEV, err)
		}
		return nil, fmt.Errorf("open tap %s: %w", name, err)
	}
	if l.Type() != "tuntap" {
		return nil, fmt.Errorf("open tap %s: device type %q: %w", name, l.Type(), unix.EINVAL)
	}
	p, err := attach(name, o, 0)
	if err == nil {
		p.mtu = l.Attrs().MTU
		return p, nil
	}
	if !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		return nil, fmt.Errorf("open tap %s: %w", name, err)
	}
	o.Logger.Info("tap: device held by another process, using AF_PACKET", "port", name, "err", err)
	ap, aerr := afpacket.Open(name, afpacket.Options{Logger: o.Logger, PollTimeout: o.PollTimeout})
	if aerr != nil {
		return nil, fmt.Errorf("open tap %s: %w", name, aerr)
	}
	return ap, nil
}

// attach opens the clone device and binds it to name with TUNSETIFF.
func attach(name string, o Options, extra uint16) (*Port, error) {
	p := &Port{name: name, fd: -1, efd: -1, persist: o.Persist}
	var err error
	p.fd, err = unix.Open(tunDevice, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", tunDevice, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		p.release()
		return nil, err
	}
	flags := uint16(unix.IFF_TAP|unix.IFF_NO_PI) | extra
	if !o.NoVnetHdr {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(p.fd, unix.TUNSETIFF, ifr); err != nil {
		p.release()
		return nil, fmt.Errorf("tunsetiff: %w", err)
	}
	p.name = ifr.Name()
	if !o.NoVnetHdr {
		p.vnet = offload.VnetHdrSize
		if err := unix.IoctlSetPointerInt(p.fd, unix.TUNSETVNETHDRSZ, offload.VnetHdrSize); err != nil {
			p.release()
			return nil, fmt.Errorf("tunsetvnethdrsz: %w", err)
		}
		// What we write is always accepted; TUNSETOFFLOAD governs what the
		// kernel may hand us.
		p.caps = offload.CapsAll
		if err := unix.IoctlSetInt(p.fd, unix.TUNSETOFFLOAD, tunOffloads|tunUSO); err != nil {
			if err2 := unix.IoctlSetInt(p.fd, unix.TUNSETOFFLOAD, tunOffloads); err2 != nil {
				p.offErr = &offload.RefusedError{Feature: "TUNSETOFFLOAD", Err: err2}
				o.Logger.Warn("tap: TUNSETOFFLOAD refused, receiving plain frames", "port", p.name, "err", err2)
			}
		}
	}
	if o.Persist && extra&iffTunExcl != 0 {
		if err := unix.IoctlSetInt(p.fd, unix.TUNSETPERSIST, 1); err != nil {
			p.release()
			return nil, fmt.Errorf("tunsetpersist: %w", err)
		}
	}
	p.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		p.release()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p.pfd = [2]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.efd), Events: unix.POLLIN}}
	p.wait = netdev.NewPollWait(o.PollTimeout, o.IdlePollTimeout)
	p.slab = make([]byte, slabSize)
	p.scratch = make([]byte, maxRead)
	p.segOut = p.writeSegment
	return p, nil
}

// configure sets MAC and MTU of a created device and brings it up unless
// o.Down, in one RTM_SETLINK: the kernel applies address and MTU before the
// flags, so the device never runs with the kernel's random MAC. A device
// left down sends nothing (no IPv6 router solicitation or MLD report) until
// someone brings it up.
func (p *Port) configure(o Options) error {
	p.mtu = o.MTU
	if o.MTU <= 0 {
		ifr, err := ifreqIoctl(p.name, unix.SIOCGIFMTU)
		if err != nil {
			return fmt.Errorf("get mtu: %w", err)
		}
		p.mtu = int(ifr.Uint32())
	}
	if o.MAC == nil && o.MTU <= 0 && o.Down {
		return nil
	}
	req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	if !o.Down {
		msg.Flags = unix.IFF_UP
		msg.Change = unix.IFF_UP
	}
	req.AddData(msg)
	// Index 0 and IFLA_IFNAME: the kernel looks the device up by name.
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(p.name)))
	if o.MAC != nil {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, []byte(o.MAC)))
	}
	if o.MTU > 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(o.MTU))))
	}
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("set link (mac %v, mtu %d, up %v): %w", o.MAC, o.MTU, !o.Down, err)
	}
	return nil
}

// ifreqIoctl runs a by-name device ioctl (SIOCGIFINDEX, SIOCGIFMTU) on a
// throwaway socket and returns the filled request.
func ifreqIoctl(name string, req uint) (*unix.Ifreq, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		return nil, err
	}
	return ifr, nil
}

// release closes the descriptors; a created, non-persistent device goes
// away with its last descriptor.
func (p *Port) release() {
	if p.fd >= 0 {
		if p.created && p.persist {
			_ = unix.IoctlSetInt(p.fd, unix.TUNSETPERSIST, 0)
		}
		_ = unix.Close(p.fd)
		p.fd = -1
	}
	if p.efd >= 0 {
		_ = unix.Close(p.efd)
		p.efd = -1
	}
}

// Name implements netdev.Port.
func (p *Port) Name() string { return p.name }

// BatchSize implements netdev.Port.
func (p *Port) BatchSize() int { return packet.BatchSize }

// VnetHdr implements netdev.OffloadCaps.
func (p *Port) VnetHdr() bool { return p.vnet != 0 }

// Caps returns the offloads the port accepts on Send.
func (p *Port) Caps() offload.Caps { return p.caps }

// OffloadErr returns the *offload.RefusedError recorded when the kernel
// refused TUNSETOFFLOAD at open, or nil.
func (p *Port) OffloadErr() error { return p.offErr }

// MTU returns the device MTU as set or seen at open.
func (p *Port) MTU() int { return p.mtu }

// Created reports whether the port created its device (and Close removes it).
func (p *Port) Created() bool { return p.created }

// Recv implements netdev.Port. Frames are read straight into the port's
// slab behind packet.Headroom bytes and stay valid until the next Recv.
func (p *Port) Recv(b *packet.Batch) error {
	b.Reset()
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	for polled := false; ; polled = true {
		err := p.read(b)
		if b.N > 0 {
			p.wait.Busy()
		}
		if err != nil || b.N > 0 {
			return err
		}
		if polled {
			p.wait.Empty()
			return nil
		}
		if _, err := unix.Poll(p.pfd[:], p.wait.MS()); err != nil && err != unix.EINTR {
			return fmt.Errorf("recv %s: poll: %w", p.name, err)
		}
		if p.closed.Load() {
			return netdev.ErrClosed
		}
	}
}

// read drains ready frames into b until EAGAIN, a full batch, or a full slab.
func (p *Port) read(b *packet.Batch) error {
	off := 0
	var nbytes, nerr uint64
	var rerr error
	for b.N < packet.BatchSize && off+packet.Headroom+maxRead <= len(p.slab) {
		// The virtio-net header lands at the end of the headroom, the frame
		// right after it.
		buf := p.slab[off+packet.Headroom-p.vnet : off+packet.Headroom+maxRead]
		n, err := unix.Read(p.fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			if err != unix.EAGAIN {
				rerr = fmt.Errorf("recv %s: %w", p.name, err)
			}
			break
		}
		if n <= p.vnet {
			nerr++
			if n == 0 {
				break
			}
			continue
		}
		var o packet.Offload
		if p.vnet != 0 {
			o, _ = offload.ParseVnetHdr(buf)
		}
		flen := n - p.vnet
		end := off + packet.Headroom + flen
		pkt := &p.pkts[b.N]
		pkt.Reset(p.slab[off:end:end], packet.Headroom, packet.Headroom+flen)
		pkt.Offload = o
		b.Pkts[b.N] = pkt
		b.N++
		nbytes += uint64(flen)
		off = (end + slotAlign - 1) &^ (slotAlign - 1)
	}
	if b.N > 0 {
		p.rxPackets.Add(uint64(b.N))
		p.rxBytes.Add(nbytes)
	}
	if nerr > 0 {
		p.rxErrors.Add(nerr)
	}
	return rerr
}

// Send implements netdev.Port: one writev per frame, since a TAP has no
// batch call. Frames with offloads the port cannot take (all of them when it
// has no virtio-net header) are finished in software in the port's own
// buffer; the caller's packets are never modified. A refused frame (device
// down: EIO) is a drop.
func (p *Port) Send(b *packet.Batch) error {
	p.txMu.Lock()
	defer p.txMu.Unlock()
	if p.closed.Load() {
		return netdev.ErrClosed
	}
	p.txDown = false
	pkts := b.Packets()
	for i, pkt := range pkts {
		frame, o := pkt.Data(), pkt.Offload
		if p.caps.Accepts(o) {
			if err := p.write(frame, o); err != nil {
				return err
			}
		} else {
			if _, ok := offload.Segment(frame, o, p.scratch, p.segOut); !ok {
				p.txDropped.Add(1)
			}
			if p.txErr != nil {
				err := p.txErr
				p.txErr = nil
				return err
			}
		}
		if p.txDown {
			// The device is down: the kernel builds every skb before
			// refusing it, so one refused write stands for the batch.
			p.txDropped.Add(uint64(len(pkts) - i - 1))
			return nil
		}
	}
	return nil
}

func (p *Port) writeSegment(seg []byte) {
	switch {
	case p.txDown:
		p.txDropped.Add(1)
	case p.txErr == nil:
		p.txErr = p.write(seg, packet.Offload{})
	}
}

// write sends one frame; it returns an error only when the port failed.
func (p *Port) write(frame []byte, o packet.Offload) error {
	if len(frame) == 0 {
		p.txDropped.Add(1)
		return nil
	}
	n := 1
	if p.vnet != 0 {
		offload.EncodeVnetHdr(p.hdr[:], o)
		p.iov[0].Base = &p.hdr[0]
		p.iov[0].SetLen(p.vnet)
		n = 2
	}
	p.iov[n-1].Base = &frame[0]
	p.iov[n-1].SetLen(len(frame))
	for {
		err := writev(p.fd, p.iov[:n])
		switch err {
		case nil:
			p.txPackets.Add(1)
			p.txBytes.Add(uint64(len(frame)))
			return nil
		case unix.EINTR:
			continue
		case unix.EBADF, unix.EBADFD, unix.EFAULT:
			p.txErrors.Add(1)
			return fmt.Errorf("send %s: %w", p.name, err)
		case unix.EIO:
			p.txDropped.Add(1) // administratively down
			p.txDown = true
			return nil
		default:
			p.txDropped.Add(1) // EINVAL (bad header), EAGAIN
			return nil
		}
	}
}

// Stats implements netdev.Port.
func (p *Port) Stats() netdev.Stats {
	return netdev.Stats{
		RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(),
		RxDropped: p.rxDropped.Load(), RxErrors: p.rxErrors.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(),
		TxDropped: p.txDropped.Load(), TxErrors: p.txErrors.Load(),
	}
}

// Close implements netdev.Port. It wakes a blocked Recv, waits for Recv and
// Send to return, and closes the descriptor; a device the port created
// disappears with it.
func (p *Port) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(p.efd, one[:])
	p.rxMu.Lock()
	p.txMu.Lock()
	p.release()
	p.txMu.Unlock()
	p.rxMu.Unlock()
	return nil
}
