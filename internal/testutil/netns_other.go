//go:build !linux

package testutil

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"testing"
)

// NetNS is a network namespace; namespaces exist only on Linux.
type NetNS struct {
	Name string
	Path string
}

var errNoNetNS = errors.New("network namespaces need linux")

// NewNetNS skips (fails in CI): namespaces exist only on Linux.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	Require(t, false, "network namespaces need Linux")
	return nil
}

// String returns the namespace name.
func (ns *NetNS) String() string { return "root" }

// Command runs args directly.
func (ns *NetNS) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, args[0], args[1:]...)
}

// Do runs f directly.
func (ns *NetNS) Do(f func() error) error { return f() }

// Exec fails: namespaces exist only on Linux.
func (ns *NetNS) Exec(ctx context.Context, args ...string) (string, string, error) {
	return "", "", errNoNetNS
}

// Host is a test host; see the Linux version.
type Host struct {
	Index     int
	NS        *NetNS
	If        string
	MAC       net.HardwareAddr
	IP        netip.Addr
	Addr      netip.Prefix
	IP6       netip.Addr
	SwitchIf  string
	SwitchMAC net.HardwareAddr
	SwitchNS  *NetNS
}

// HostsOptions configures NewHosts.
type HostsOptions struct {
	Subnet   netip.Prefix
	IPv6     bool
	SwitchNS *NetNS
	MTU      int
}

// NewHosts skips (fails in CI): namespaces exist only on Linux.
func NewHosts(t testing.TB, n int, opts *HostsOptions) []*Host {
	t.Helper()
	Require(t, false, "network namespaces need Linux")
	return nil
}

// Cap is a Linux capability number.
type Cap int

// Capabilities tests commonly need (numbers from capabilities(7)).
const (
	CapNetAdmin Cap = 12
	CapNetRaw   Cap = 13
	CapSysAdmin Cap = 21
	CapIPCLock  Cap = 14
	CapBPF      Cap = 39
)

// HasCap reports false: capabilities are Linux-only.
func HasCap(c Cap) (bool, error) { return false, errors.New("capabilities need linux") }

// RequireCap skips (fails in CI): capabilities are Linux-only.
func RequireCap(t testing.TB, c Cap) {
	t.Helper()
	Require(t, false, "capabilities need Linux")
}

// Veth describes a veth pair; veth exists only on Linux.
type Veth struct {
	Name     string
	NS       *NetNS
	MAC      net.HardwareAddr
	PeerName string
	PeerNS   *NetNS
	PeerMAC  net.HardwareAddr
	MTU      int
	KeepIPv6 bool
	Down     bool
}

// NewVethPair skips (fails in CI): veth exists only on Linux.
func NewVethPair(t testing.TB, v Veth) Veth {
	t.Helper()
	Require(t, false, "veth needs Linux")
	return v
}

// RawSocket is an AF_PACKET socket; Linux-only.
type RawSocket struct {
	NS      *NetNS
	IfName  string
	IfIndex int
}

// OpenRawSocket skips (fails in CI): AF_PACKET is Linux-only.
func OpenRawSocket(t testing.TB, ns *NetNS, ifname string) *RawSocket {
	t.Helper()
	Require(t, false, "AF_PACKET needs Linux")
	return nil
}

// KernelVersion reports no Linux kernel.
func KernelVersion() (major, minor int, ok bool) { return 0, 0, false }
