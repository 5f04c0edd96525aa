package vsctl

import (
	"syscall"
	"unsafe"
)

// sigactionT is the kernel's struct sigaction on Linux.
type sigactionT struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// dieBySignal restores the default disposition of sig and raises it, so the
// process ends "killed by signal" exactly like a C program's fatal alarm.
// The Go runtime ignores SIGALRM unless notified, hence the raw syscall.
func dieBySignal(sig syscall.Signal) {
	var sa sigactionT // handler 0 == SIG_DFL
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	_ = syscall.Kill(syscall.Getpid(), sig)
	// Unblock in case the signal is masked on this thread.
	var set uint64 = 1 << (uint(sig) - 1)
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	_ = syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), sig)
	select {}
}
