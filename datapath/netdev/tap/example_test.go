package tap_test

import (
	"log"
	"net"

	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
)

// An internal port: a TAP device the switch owns, removed on Close.
func ExampleCreate() {
	p, err := tap.Create("br0", tap.Options{
		MAC: net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
		MTU: 1500,
	})
	if err != nil {
		log.Print(err)
		return
	}
	defer p.Close()
	log.Printf("%s: vnet header %v, offloads %v", p.Name(), p.VnetHdr(), p.Caps())
}

// A VM's port: qemu holds libvirt's vnetN tap, so Open falls back to an
// AF_PACKET socket on it.
func ExampleOpen() {
	p, err := tap.Open("vnet0", tap.Options{})
	if err != nil {
		log.Print(err)
		return
	}
	defer p.Close()
}
