package testutil

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Veth describes one veth pair for NewVethPair. Empty names get unique
// generated ones; nil MACs are left to the kernel; a nil NetNS is the root
// namespace.
type Veth struct {
	Name     string
	NS       *NetNS
	MAC      net.HardwareAddr
	PeerName string
	PeerNS   *NetNS
	PeerMAC  net.HardwareAddr
	MTU      int // 0: kernel default (1500)
	// KeepIPv6 leaves IPv6 enabled on both ends. By default it is disabled
	// before the links come up, so the kernel sends no router or neighbour
	// solicitations that a test capturing frames would see.
	KeepIPv6 bool
	// Down leaves both ends administratively down.
	Down bool
}

// UniqueLinkName returns a link name of at most 15 bytes: prefix (at most 4
// bytes), 8 random hex digits and suffix (at most 3 bytes).
func UniqueLinkName(prefix, suffix string) string {
	return fmt.Sprintf("%.4s%08x%.3s", prefix, rand.Uint32(), suffix)
}

// NewVethPair creates the pair v describes, brings both ends up (unless
// v.Down) and deletes it in t.Cleanup. It returns v with names and MACs
// filled in.
func NewVethPair(t testing.TB, v Veth) Veth {
	t.Helper()
	RequireCap(t, CapNetAdmin)
	if v.Name == "" {
		v.Name = UniqueLinkName("gv", "a")
	}
	if v.PeerName == "" {
		v.PeerName = UniqueLinkName("gv", "b")
	}
	if err := createVeth(&v); err != nil {
		Require(t, !errors.Is(err, unix.EOPNOTSUPP), "veth not supported: %v", err)
		t.Fatalf("%v", err)
	}
	if !v.Down {
		waitUp(t, v.NS, v.Name)
		waitUp(t, v.PeerNS, v.PeerName)
	}
	t.Cleanup(func() {
		// Deleting one end deletes both. The namespace may already be gone
		// (cleanups run last-in first-out, so normally it is not).
		_ = v.NS.withHandle(func(h *netlink.Handle) error {
			l, err := h.LinkByName(v.Name)
			if err != nil {
				return nil
			}
			return h.LinkDel(l)
		})
	})
	return v
}

func createVeth(v *Veth) error {
	peerFd, err := v.PeerNS.fd()
	if err != nil {
		return fmt.Errorf("open netns %s: %w", v.PeerNS, err)
	}
	defer peerFd.Close()
	link := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: v.Name, HardwareAddr: v.MAC, MTU: v.MTU},
		PeerName:         v.PeerName,
		PeerHardwareAddr: v.PeerMAC,
		PeerNamespace:    netlink.NsFd(int(peerFd)),
	}
	if err := v.NS.withHandle(func(h *netlink.Handle) error { return h.LinkAdd(link) }); err != nil {
		return fmt.Errorf("add veth %s (netns %s) / %s (netns %s): %w", v.Name, v.NS, v.PeerName, v.PeerNS, err)
	}
	for _, end := range []struct {
		ns   *NetNS
		name string
		mac  *net.HardwareAddr
	}{{v.NS, v.Name, &v.MAC}, {v.PeerNS, v.PeerName, &v.PeerMAC}} {
		if !v.KeepIPv6 {
			if err := end.ns.Sysctl("net/ipv6/conf/"+end.name+"/disable_ipv6", "1"); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("disable ipv6 on %s: %w", end.name, err)
			}
		}
		err := end.ns.withHandle(func(h *netlink.Handle) error {
			l, err := h.LinkByName(end.name)
			if err != nil {
				return err
			}
			*end.mac = l.Attrs().HardwareAddr
			if v.Down {
				return nil
			}
			return h.LinkSetUp(l)
		})
		if err != nil {
			return fmt.Errorf("set %s up in netns %s: %w", end.name, end.ns, err)
		}
	}
	return nil
}

// HostsOptions configures NewHosts. The zero value is usable.
type HostsOptions struct {
	// Subnet holds the hosts' IPv4 addresses: host i gets address i+1.
	// Default 10.0.0.0/24. Addresses exist only inside the hosts'
	// namespaces, so every topology may use the same subnet.
	Subnet netip.Prefix
	// IPv6 also gives host i the address fd00::<i+1>/64 (without duplicate
	// address detection) and keeps IPv6 enabled on its eth0.
	IPv6 bool
	// SwitchNS is where the switch-side veth ends go; nil is the root
	// namespace.
	SwitchNS *NetNS
	// MTU of both veth ends; 0 is the kernel default.
	MTU int
}

// Host is one test host: a namespace with an "eth0" veth end whose peer
// (SwitchIf) waits in the switch namespace for a switch to attach it.
type Host struct {
	Index int
	NS    *NetNS
	// If is the host-side interface name, always "eth0".
	If string
	// MAC is 02:00:00:00:00:<Index+1>.
	MAC net.HardwareAddr
	// IP is Subnet's address Index+1; Addr is IP with the subnet's length.
	IP   netip.Addr
	Addr netip.Prefix
	// IP6 is fd00::<Index+1> when HostsOptions.IPv6 is set.
	IP6 netip.Addr
	// SwitchIf is the unique name of the switch-side end, up, without addresses.
	SwitchIf  string
	SwitchMAC net.HardwareAddr
	SwitchNS  *NetNS
}

// HostMAC returns the MAC NewHosts gives host i: 02:00:00:00:<i+1 as 16 bits>.
func HostMAC(i int) net.HardwareAddr {
	n := i + 1
	return net.HardwareAddr{0x02, 0, 0, 0, byte(n >> 8), byte(n)}
}

// NewHosts creates n hosts (see Host). Everything is removed in t.Cleanup.
func NewHosts(t testing.TB, n int, opts *HostsOptions) []*Host {
	t.Helper()
	var o HostsOptions
	if opts != nil {
		o = *opts
	}
	if !o.Subnet.IsValid() {
		o.Subnet = netip.MustParsePrefix("10.0.0.0/24")
	}
	o.Subnet = o.Subnet.Masked()
	if !o.Subnet.Addr().Is4() || n < 1 || n+1 >= 1<<(32-o.Subnet.Bits()) {
		t.Fatalf("NewHosts: %d hosts do not fit in IPv4 subnet %v", n, o.Subnet)
	}
	tag := fmt.Sprintf("%08x", rand.Uint32())
	hosts := make([]*Host, n)
	for i := range hosts {
		ns := NewNetNS(t)
		v := NewVethPair(t, Veth{
			Name:     fmt.Sprintf("gv%ss%d", tag, i),
			NS:       o.SwitchNS,
			PeerName: "eth0",
			PeerNS:   ns,
			PeerMAC:  HostMAC(i),
			MTU:      o.MTU,
			Down:     true,
		})
		h := &Host{
			Index: i, NS: ns, If: "eth0", MAC: v.PeerMAC,
			IP:       addrAdd(o.Subnet.Addr(), i+1),
			SwitchIf: v.Name, SwitchMAC: v.MAC, SwitchNS: o.SwitchNS,
		}
		h.Addr = netip.PrefixFrom(h.IP, o.Subnet.Bits())
		if o.IPv6 {
			h.IP6 = addrAdd(netip.MustParseAddr("fd00::"), i+1)
			if err := ns.Sysctl("net.ipv6.conf.eth0.disable_ipv6", "0"); err != nil {
				t.Fatalf("host %d: enable ipv6: %v", i, err)
			}
		}
		err := ns.withHandle(func(hd *netlink.Handle) error {
			l, err := hd.LinkByName("eth0")
			if err != nil {
				return err
			}
			if err := hd.AddrAdd(l, &netlink.Addr{IPNet: prefixNet(h.Addr)}); err != nil {
				return fmt.Errorf("add %v: %w", h.Addr, err)
			}
			if h.IP6.IsValid() {
				a := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(h.IP6, 64)), Flags: unix.IFA_F_NODAD}
				if err := hd.AddrAdd(l, a); err != nil {
					return fmt.Errorf("add %v: %w", h.IP6, err)
				}
			}
			return hd.LinkSetUp(l)
		})
		if err != nil {
			t.Fatalf("host %d (netns %s): %v", i, ns, err)
		}
		err = o.SwitchNS.withHandle(func(hd *netlink.Handle) error {
			l, err := hd.LinkByName(v.Name)
			if err != nil {
				return err
			}
			return hd.LinkSetUp(l)
		})
		if err != nil {
			t.Fatalf("host %d: set %s up: %v", i, v.Name, err)
		}
		hosts[i] = h
	}
	for _, h := range hosts {
		waitUp(t, h.NS, h.If)
		waitUp(t, o.SwitchNS, h.SwitchIf)
	}
	return hosts
}

// LinkUpTimeout bounds how long helpers wait for a link's operational state.
const LinkUpTimeout = 10 * time.Second

func waitUp(t testing.TB, ns *NetNS, name string) {
	t.Helper()
	if err := ns.WaitOperUp(name, LinkUpTimeout); err != nil {
		t.Fatal(err)
	}
}

// WaitOperUp waits until link name in the namespace is operationally up.
// A link that was just set up transmits nothing until then: the kernel
// attaches its queueing discipline asynchronously, after the carrier
// comes on, and drops frames sent earlier.
func (ns *NetNS) WaitOperUp(name string, timeout time.Duration) error {
	h, err := ns.Handle()
	if err != nil {
		return err
	}
	defer h.Close()
	var state netlink.LinkOperState
	var lerr error
	if Poll(timeout, 5*time.Millisecond, func() bool {
		l, err := h.LinkByName(name)
		if err != nil {
			lerr = err
			return false
		}
		state = l.Attrs().OperState
		return state == netlink.OperUp
	}) {
		return nil
	}
	if lerr != nil {
		return fmt.Errorf("link %s in netns %s: %w", name, ns, lerr)
	}
	return fmt.Errorf("link %s in netns %s is %v, not up, after %v", name, ns, state, timeout)
}

// Ping sends one ICMP echo from h to dst (IPv4 or IPv6) and waits up to
// one second for the reply. Use it inside Eventually: the first ping may
// be lost while ARP and MAC learning settle.
func (h *Host) Ping(ctx context.Context, dst netip.Addr) error {
	args := []string{"ping", "-c1", "-W1", "-n", "-q"}
	if dst.Is6() {
		args = append(args, "-6")
	}
	stdout, stderr, err := h.NS.Exec(ctx, append(args, dst.String())...)
	if err != nil {
		return fmt.Errorf("host %d ping %v: %w (%s%s)", h.Index, dst, err, stdout, stderr)
	}
	return nil
}

func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := int(b[i]) + carry
		b[i] = byte(s)
		carry = s >> 8
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
