package nettest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// RequireRoot skips t (fails it when CI=true) unless the test runs as root.
// It mirrors internal/testutil, which non-test packages may not import.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if strings.EqualFold(os.Getenv("CI"), "true") {
		t.Fatalf("required (CI=true): test needs root (euid is %d)", os.Geteuid())
	}
	t.Skipf("skipping: test needs root (euid is %d)", os.Geteuid())
}

// RequireBinary returns the path of a tool or skips (fails under CI=true).
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err2 := exec.LookPath(dir + "/" + name); err2 == nil {
			return p
		}
	}
	if strings.EqualFold(os.Getenv("CI"), "true") {
		t.Fatalf("required (CI=true): binary %q not found: %v", name, err)
	}
	t.Skipf("skipping: binary %q not found: %v", name, err)
	return ""
}

// Suffix returns 6 random hex digits for unique names.
func Suffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NS is a named network namespace.
type NS struct {
	Name   string
	Handle netns.NsHandle
}

// NewNS creates a named namespace (visible to `ip netns exec`) with lo up and
// IPv6 off (no router solicitations or MLD reports to confuse tests).
func NewNS(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	name := "gvt-" + Suffix()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("get netns: %v", err)
	}
	h, err := netns.NewNamed(name)
	serr := netns.Set(orig)
	_ = orig.Close()
	runtime.UnlockOSThread()
	if serr != nil {
		panic(fmt.Sprintf("restore netns: %v", serr)) // the thread is unusable
	}
	if err != nil {
		t.Fatalf("new netns %s: %v", name, err)
	}
	ns := &NS{Name: name, Handle: h}
	t.Cleanup(func() {
		_ = h.Close()
		_ = netns.DeleteNamed(name)
	})
	ns.Do(t, func() error {
		for _, f := range []string{"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"} {
			if err := os.WriteFile(f, []byte("1"), 0o644); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	return ns
}

// Do runs fn on a thread switched into the namespace, and fails t on error.
// Sockets and devices fn creates belong to the namespace for good.
func (ns *NS) Do(t testing.TB, fn func() error) {
	t.Helper()
	if err := ns.Run(fn); err != nil {
		t.Fatalf("in netns %s: %v", ns.Name, err)
	}
}

// Run runs fn on a thread switched into the namespace.
func (ns *NS) Run(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// A locked goroutine that exits takes its thread with it, so a
		// thread left in the namespace is never reused.
		runtime.LockOSThread()
		if err := netns.Set(ns.Handle); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Exec runs a command inside the namespace and returns its combined output.
func (ns *NS) Exec(timeout time.Duration, name string, args ...string) ([]byte, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	done := make(chan struct{})
	t := time.AfterFunc(timeout, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		close(done)
	})
	out, err := cmd.CombinedOutput()
	if !t.Stop() {
		<-done
	}
	return out, err
}

// Veth creates a veth pair a (in nsA) - b (in nsB), both up.
func Veth(t testing.TB, nsA *NS, a string, nsB *NS, b string) {
	t.Helper()
	nsA.Do(t, func() error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a, TxQLen: 1000}, PeerName: b,
			PeerNamespace: netlink.NsFd(int(nsB.Handle))}
		if err := netlink.LinkAdd(v); err != nil {
			return fmt.Errorf("add veth %s/%s: %w", a, b, err)
		}
		l, err := netlink.LinkByName(a)
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	nsB.Do(t, func() error {
		l, err := netlink.LinkByName(b)
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
}

// AddAddr adds an address like "10.9.0.1/24" to ifname in ns.
func (ns *NS) AddAddr(t testing.TB, ifname, cidr string) {
	t.Helper()
	ns.Do(t, func() error {
		l, err := netlink.LinkByName(ifname)
		if err != nil {
			return err
		}
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			return err
		}
		return netlink.AddrAdd(l, a)
	})
}

// MAC returns ifname's hardware address in ns.
func (ns *NS) MAC(t testing.TB, ifname string) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	ns.Do(t, func() error {
		l, err := netlink.LinkByName(ifname)
		if err != nil {
			return err
		}
		mac = l.Attrs().HardwareAddr
		return nil
	})
	return mac
}

// Raw is an AF_PACKET socket bound to one device in a namespace.
type Raw struct {
	fd int
}

// OpenRaw opens a raw socket on ifname inside ns; it is closed on cleanup.
func (ns *NS) OpenRaw(t testing.TB, ifname string) *Raw {
	t.Helper()
	r := &Raw{fd: -1}
	ns.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		r.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	t.Cleanup(func() { _ = unix.Close(r.fd) })
	return r
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Send transmits one frame.
func (r *Raw) Send(frame []byte) error {
	_, err := unix.Write(r.fd, frame)
	return err
}

// Recv waits up to timeout for an incoming frame (not one the socket's
// device sent) for which match returns true, and returns it.
func (r *Raw) Recv(timeout time.Duration, match func([]byte) bool) ([]byte, bool) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 70000)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, false
		}
		pfd := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, int(left.Milliseconds())+1); err != nil || n == 0 {
			continue
		}
		n, from, err := unix.Recvfrom(r.fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if match == nil || match(buf[:n]) {
			return append([]byte(nil), buf[:n]...), true
		}
	}
}
