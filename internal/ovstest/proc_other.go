//go:build !linux

package ovstest

import "os/exec"

// dieWithParent does nothing: parent-death signals are Linux-only.
func dieWithParent(cmd *exec.Cmd) {}
