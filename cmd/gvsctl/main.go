// Command gvsctl is gvswitch's ovs-vsctl: installed as ovs-vsctl it is a
// drop-in replacement for Open vSwitch 3.1's ovs-vsctl. All logic lives in
// internal/vsctl.
package main

import (
	"os"

	"github.com/gvswitch/gvswitch/internal/vsctl"
)

func main() {
	os.Exit(vsctl.Main(os.Args, os.Stdout, os.Stderr))
}
