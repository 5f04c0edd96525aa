package storage

import (
	"os"
	"syscall"
	"unsafe"
)

// rawAppendMax bounds the records appendFile writes with raw system calls.
const rawAppendMax = 64 << 10

// appendFile writes b to f. A small record goes to the page cache in a few
// microseconds, so it is written with raw system calls, which keep the Go
// scheduler's bookkeeping (and its monitor thread, which an ordinary system
// call wakes from its deep sleep in an otherwise idle process) out of
// every commit; anything larger takes the ordinary path, where the
// scheduler can hand the processor on while the write waits.
func appendFile(f *os.File, b []byte) error {
	if len(b) > rawAppendMax {
		_, err := f.Write(b)
		return err
	}
	fd := f.Fd()
	for len(b) > 0 {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return &os.PathError{Op: "write", Path: f.Name(), Err: errno}
		}
		if n == 0 {
			return &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EIO}
		}
		b = b[n:]
	}
	return nil
}
