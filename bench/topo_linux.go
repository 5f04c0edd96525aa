package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// Hosts live in 10.201.0.0/24: host i (0-based) is 10.201.0.<i+1>, MAC
// 02:00:00:00:00:<i+1>, interface eth0. Switch-side veth ends are p1..pN in
// the switch namespace. 10.201.0.200 is nobody's: UDP load is sent there so the
// receiver counts it at its interface and drops it silently (no ICMP back).
const (
	subnetPrefix = "10.201.0."
	sinkIP       = "10.201.0.200"
	linkTimeout  = 10 * time.Second
)

// host is one traffic endpoint in its own namespace.
type host struct {
	ns   netNS
	ip   netip.Addr
	mac  string
	swIf string // switch-side veth end ("" in the direct topology)
}

// topo is a set of hosts, each on a veth into the switch namespace, or two
// hosts on one veth pair (direct).
type topo struct {
	sw    netNS // "" when direct
	hosts []*host
	names []string // namespaces to delete
}

func hostMAC(i int) string { return fmt.Sprintf("02:00:00:00:00:%02x", i+1) }

// newTopo builds n hosts for system sys. It cleans up after itself on error.
func newTopo(ctx context.Context, sys string, n int, direct bool) (t *topo, err error) {
	t = &topo{}
	defer func() {
		if err != nil {
			t.close()
			t = nil
		}
	}()
	base := fmt.Sprintf("%s%d-%s", nsPrefix, os.Getpid(), sys)
	if direct {
		n = 2
	} else {
		if t.sw, err = t.addNS(ctx, base+"-sw"); err != nil {
			return t, err
		}
	}
	for i := range n {
		ns, err := t.addNS(ctx, fmt.Sprintf("%s-h%d", base, i+1))
		if err != nil {
			return t, err
		}
		h := &host{ns: ns, ip: netip.MustParseAddr(fmt.Sprintf("%s%d", subnetPrefix, i+1)), mac: hostMAC(i)}
		t.hosts = append(t.hosts, h)
	}
	if direct {
		a, b := t.hosts[0], t.hosts[1]
		if _, err := run(ctx, "ip", "link", "add", "eth0", "netns", string(a.ns), "type", "veth", "peer", "name", "eth0", "netns", string(b.ns)); err != nil {
			return t, err
		}
	} else {
		for i, h := range t.hosts {
			h.swIf = fmt.Sprintf("p%d", i+1)
			if _, err := run(ctx, "ip", "link", "add", h.swIf, "netns", string(t.sw), "type", "veth", "peer", "name", "eth0", "netns", string(h.ns)); err != nil {
				return t, err
			}
			if _, err := t.sw.run(ctx, "sysctl", "-qw", "net.ipv6.conf."+h.swIf+".disable_ipv6=1"); err != nil {
				return t, err
			}
			if _, err := t.sw.ip(ctx, "link", "set", h.swIf, "up"); err != nil {
				return t, err
			}
		}
	}
	for _, h := range t.hosts {
		if err := h.ns.ipBatch(ctx, []string{
			"link set eth0 address " + h.mac,
			"addr add " + h.ip.String() + "/24 dev eth0",
			"link set eth0 up",
		}); err != nil {
			return t, err
		}
		if _, err := h.ns.run(ctx, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"); err != nil {
			return t, err
		}
	}
	for _, h := range t.hosts {
		if err := h.ns.waitOperUp(ctx, "eth0", linkTimeout); err != nil {
			return t, err
		}
		if h.swIf != "" {
			if err := t.sw.waitOperUp(ctx, h.swIf, linkTimeout); err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

func (t *topo) addNS(ctx context.Context, name string) (netNS, error) {
	ns, err := addNS(ctx, name)
	if err == nil {
		t.names = append(t.names, name)
	}
	return ns, err
}

// close deletes every namespace (and so every veth) of the topology.
func (t *topo) close() {
	for i := len(t.names) - 1; i >= 0; i-- {
		delNS(t.names[i])
	}
	t.names = nil
}

// setTxOffload turns the hosts' eth0 TX checksum offload (and with it TSO) on or off.
func (t *topo) setTxOffload(ctx context.Context, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	for _, h := range t.hosts {
		if _, err := h.ns.run(ctx, "ethtool", "-K", "eth0", "tx", v); err != nil {
			return err
		}
	}
	return nil
}

// waitConnected pings from every host to host 0 and back until all answer, so
// the switch has learned every host's MAC.
func (t *topo) waitConnected(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := 1; i < len(t.hosts); i++ {
		for _, pair := range [][2]*host{{t.hosts[i], t.hosts[0]}, {t.hosts[0], t.hosts[i]}} {
			for {
				_, err := pair[0].ns.run(ctx, "ping", "-c", "1", "-W", "1", "-q", pair[1].ip.String())
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("no connectivity %s -> %s within %v: %w", pair[0].ip, pair[1].ip, timeout, err)
				}
				if ctx.Err() != nil {
					return errors.Join(ctx.Err(), err)
				}
			}
		}
	}
	return nil
}
