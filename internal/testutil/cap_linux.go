package testutil

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability number (capabilities(7)).
type Cap int

// Capabilities tests commonly need.
const (
	CapNetAdmin Cap = unix.CAP_NET_ADMIN
	CapNetRaw   Cap = unix.CAP_NET_RAW
	CapSysAdmin Cap = unix.CAP_SYS_ADMIN
	CapIPCLock  Cap = unix.CAP_IPC_LOCK
	CapBPF      Cap = unix.CAP_BPF
)

// String returns the capability's name as capabilities(7) spells it.
func (c Cap) String() string {
	switch c {
	case CapNetAdmin:
		return "CAP_NET_ADMIN"
	case CapNetRaw:
		return "CAP_NET_RAW"
	case CapSysAdmin:
		return "CAP_SYS_ADMIN"
	case CapIPCLock:
		return "CAP_IPC_LOCK"
	case CapBPF:
		return "CAP_BPF"
	}
	return fmt.Sprintf("capability(%d)", int(c))
}

// HasCap reports whether the calling thread has c in its effective set.
func HasCap(c Cap) (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3 uses two 32-bit words
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, fmt.Errorf("capget: %w", err)
	}
	if c < 0 || c >= 64 {
		return false, fmt.Errorf("capability %d out of range", int(c))
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0, nil
}

// RequireCap requires capability c in the effective set.
func RequireCap(t testing.TB, c Cap) {
	t.Helper()
	ok, err := HasCap(c)
	if err != nil {
		Require(t, false, "cannot read capabilities for %v: %v", c, err)
	}
	Require(t, ok, "test needs %v", c)
}

// KernelVersion returns the running kernel's major and minor version.
func KernelVersion() (major, minor int, ok bool) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, 0, false
	}
	n, _ := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major, minor, n == 2
}
