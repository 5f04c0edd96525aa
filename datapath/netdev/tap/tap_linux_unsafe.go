//go:build linux

package tap

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// writev writes the vector with one system call. x/sys/unix.Writev builds
// its iovec array per call; this one uses the port's.
func writev(fd int, iov []unix.Iovec) error {
	_, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return e
	}
	return nil
}
