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

// RequireCap skips (fails in CI): capabilities are Linux-only.
func RequireCap(t testing.TB, c int) {
	t.Helper()
	Require(t, false, "capabilities need Linux")
}

// KernelVersion reports no Linux kernel.
func KernelVersion() (major, minor int, ok bool) { return 0, 0, false }
