package datapath_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/datapath/packet"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// Example wires two in-memory ports to a datapath with a slow path that
// sends everything from port 1 to port 2 and matches on L2 only, then dumps
// the megaflow that the first packet installed.
func Example() {
	dp, err := datapath.New(datapath.Options{})
	if err != nil {
		panic(err)
	}
	defer dp.Close()
	p1, p2 := dummy.New("p1"), dummy.New("p2")
	dp.AddPort("p1", p1, 0) // becomes port 1
	dp.AddPort("p2", p2, 0) // becomes port 2

	dp.SetUpcallHandler(datapath.UpcallFunc(func(k *datapath.FlowKey, _ *packet.Packet) (datapath.Actions, datapath.Mask, error) {
		var m datapath.Mask
		m.EthSrc, m.EthDst = datapath.ExactMAC, datapath.ExactMAC
		return datapath.Actions{datapath.Output(2)}, m, nil
	}))

	frame := pkttest.ARPRequest(pkttest.MustMAC("02:00:00:00:00:01"),
		mustAddr("10.0.0.1"), mustAddr("10.0.0.2"))
	p1.Inject(frame)
	fmt.Println("p2 got", len(p2.WaitSent(1, 5*time.Second)), "frame")

	for _, e := range dp.FlowDump() {
		e.Stats.Used = time.Time{} // keep the output stable
		fmt.Println(datapath.FormatFlow(&e, time.Now()))
	}
	fmt.Fprintln(os.Stdout, dp.Stats().FlowsLine())
	// Output:
	// p2 got 1 frame
	// recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806), packets:1, bytes:60, used:never, actions:2
	// flows: 1
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
