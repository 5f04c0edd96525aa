package testutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RawSocket is an AF_PACKET socket bound to one interface, for injecting
// and capturing whole Ethernet frames in tests (build them with
// internal/pkttest). It sees frames the interface receives, not those it
// sends, and puts back VLAN tags that the kernel moved out of the frame.
type RawSocket struct {
	NS      *NetNS
	IfName  string
	IfIndex int
	fd      int
	buf     []byte
}

// ethPAll is ETH_P_ALL in network byte order, as AF_PACKET wants it.
var ethPAll = htons(unix.ETH_P_ALL)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenRawSocket opens a raw socket on ifname inside ns (nil: the root
// namespace) and closes it in t.Cleanup. It needs CAP_NET_RAW.
func OpenRawSocket(t testing.TB, ns *NetNS, ifname string) *RawSocket {
	t.Helper()
	RequireCap(t, CapNetRaw)
	r := &RawSocket{NS: ns, IfName: ifname, fd: -1, buf: make([]byte, 1<<16)}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		r.IfIndex = ifi.Index
		// Protocol 0 until bind: the socket queues nothing from other
		// interfaces in between.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		r.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return fmt.Errorf("packet auxdata: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("bind: %w", err)
		}
		return nil
	})
	if err != nil {
		if r.fd >= 0 {
			unix.Close(r.fd)
		}
		t.Fatalf("raw socket on %s (netns %s): %v", ifname, ns, err)
	}
	t.Cleanup(func() { unix.Close(r.fd) })
	return r
}

// Send transmits frame out of the interface as it is.
func (r *RawSocket) Send(frame []byte) error {
	if err := unix.Sendto(r.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: r.IfIndex}); err != nil {
		return fmt.Errorf("send on %s: %w", r.IfName, err)
	}
	return nil
}

// Recv returns the next frame received within timeout, in a fresh slice.
// On timeout the error wraps os.ErrDeadlineExceeded.
func (r *RawSocket) Recv(timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	oob := make([]byte, unix.CmsgSpace(sizeofAuxdata))
	for {
		n, oobn, _, from, err := unix.Recvmsg(r.fd, r.buf, oob, unix.MSG_TRUNC)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			left := time.Until(deadline)
			if left <= 0 {
				return nil, fmt.Errorf("receive on %s: %w", r.IfName, os.ErrDeadlineExceeded)
			}
			pfd := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
			if _, err := unix.Poll(pfd, int(left.Milliseconds())+1); err != nil && !errors.Is(err, unix.EINTR) {
				return nil, fmt.Errorf("poll %s: %w", r.IfName, err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("receive on %s: %w", r.IfName, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n > len(r.buf) {
			return nil, fmt.Errorf("receive on %s: %d-byte frame truncated", r.IfName, n)
		}
		return withVLAN(r.buf[:n], oob[:oobn]), nil
	}
}

// withVLAN copies frame, re-inserting a VLAN tag the kernel reported in
// PACKET_AUXDATA instead of leaving it in the frame.
func withVLAN(frame, oob []byte) []byte {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < sizeofAuxdata {
			continue
		}
		status := binary.NativeEndian.Uint32(m.Data[0:])
		tci := binary.NativeEndian.Uint16(m.Data[16:])
		tpid := binary.NativeEndian.Uint16(m.Data[18:])
		if status&unix.TP_STATUS_VLAN_VALID == 0 || len(frame) < 12 {
			break
		}
		if status&unix.TP_STATUS_VLAN_TPID_VALID == 0 {
			tpid = 0x8100
		}
		out := make([]byte, 0, len(frame)+4)
		out = append(out, frame[:12]...)
		out = binary.BigEndian.AppendUint16(out, tpid)
		out = binary.BigEndian.AppendUint16(out, tci)
		return append(out, frame[12:]...)
	}
	return append([]byte(nil), frame...)
}

// Expect returns the first received frame for which match returns true
// (nil match: any frame), skipping others, and fails the test if none
// arrives within timeout.
func (r *RawSocket) Expect(t testing.TB, timeout time.Duration, match func(frame []byte) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	skipped := 0
	for {
		f, err := r.Recv(time.Until(deadline))
		if err != nil {
			t.Fatalf("no matching frame on %s (netns %s) within %v (%d others seen): %v", r.IfName, r.NS, timeout, skipped, err)
		}
		if match == nil || match(f) {
			return f
		}
		skipped++
	}
}

// ExpectNone fails the test if a frame for which match returns true (nil:
// any frame) arrives within d. Use it to check that something is not
// forwarded, after a positive check has shown the path works.
func (r *RawSocket) ExpectNone(t testing.TB, d time.Duration, match func(frame []byte) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		f, err := r.Recv(left)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if match == nil || match(f) {
			t.Fatalf("unexpected frame on %s (netns %s): % x", r.IfName, r.NS, f)
		}
	}
}

// Drain discards every frame already queued.
func (r *RawSocket) Drain() {
	for {
		if _, err := r.Recv(0); err != nil {
			return
		}
	}
}

// sizeofAuxdata is sizeof(struct tpacket_auxdata): three uint32 and four
// uint16 fields (unix.TpacketAuxdata).
const sizeofAuxdata = 20
