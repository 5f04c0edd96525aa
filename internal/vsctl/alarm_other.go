//go:build !linux

package vsctl

import (
	"os"
	"syscall"
)

// dieBySignal ends the process as if killed by sig where raising it portably
// is not available: exit with the shell's 128+signal status.
func dieBySignal(sig syscall.Signal) {
	os.Exit(128 + int(sig))
}
