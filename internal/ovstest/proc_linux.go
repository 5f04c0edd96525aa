package ovstest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd receive SIGTERM when the test binary dies, even
// when it is killed (go test -timeout). Pdeathsig fires when the forking OS
// thread exits; Go keeps threads alive unless a goroutine exits while
// locked to one, which this package never does.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
