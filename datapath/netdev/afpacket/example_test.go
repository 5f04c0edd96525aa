package afpacket_test

import (
	"errors"
	"log"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// A poll loop forwarding everything from one device to another. The batch
// is allocated once; Recv refills it from the port's own buffers.
func ExampleOpen() {
	in, err := afpacket.Open("veth0", afpacket.Options{})
	if err != nil {
		log.Print(err)
		return
	}
	defer in.Close()
	out, err := afpacket.Open("veth1", afpacket.Options{RxMode: afpacket.RxMmsg})
	if err != nil {
		log.Print(err)
		return
	}
	defer out.Close()
	var b packet.Batch
	for {
		if err := in.Recv(&b); err != nil {
			if !errors.Is(err, netdev.ErrClosed) {
				log.Print(err)
			}
			return
		}
		if err := out.Send(&b); err != nil {
			log.Print(err)
			return
		}
	}
}
