package xlate_test

import (
	"fmt"
	"strings"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/ofproto/xlate"
)

// Example shows a translator wired as the datapath's slow path, and the
// megaflow NORMAL produces: in_port, the VLAN tag's presence and VID, and
// both MACs, so a TCP and a UDP packet between the same two hosts share one
// megaflow.
func Example() {
	x := xlate.New()
	x.Publish(&xlate.Config{Bridges: map[string]*xlate.Bridge{
		"br0": {Name: "br0", Ports: map[uint32]*xlate.Port{
			1: {Name: "vm1", OFPort: 1, DPPort: 1},
			2: {Name: "vm2", OFPort: 2, DPPort: 2, VLANMode: xlate.Access, Tag: 10},
		}},
	}})
	// dp.SetUpcallHandler(x); go x.RunRevalidator(ctx, dp, time.Second)

	a := [6]byte{0x52, 0x54, 0, 0, 0, 1}
	b := [6]byte{0x52, 0x54, 0, 0, 0, 2}
	learn := &datapath.FlowKey{InPort: 2, EthSrc: b, EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	x.Upcall(learn, nil) // b is learned on vm2 in VLAN 10

	tcp := &datapath.FlowKey{InPort: 1, EthSrc: a, EthDst: b, EthType: datapath.EthTypeIPv4, NwProto: 6, TpDst: 80,
		VLAN: [2]datapath.VLANTag{{TPID: datapath.EthTypeVLAN, TCI: 10}}}
	udp := *tcp
	udp.NwProto, udp.TpDst = 17, 53

	acts, mask, _ := x.Upcall(tcp, nil)
	fmt.Println("actions:", acts)
	fmt.Println("same megaflow for UDP:", tcp.Masked(&mask) == udp.Masked(&mask))

	trace, _ := x.Trace("br0", "udp,in_port=1,dl_vlan=10,dl_src=52:54:00:00:00:01,dl_dst=52:54:00:00:00:02,tp_dst=53")
	fmt.Print(trace[strings.Index(trace, "Megaflow:"):])
	// Output:
	// actions: pop_vlan,2
	// same megaflow for UDP: true
	// Megaflow: recirc_id=0,eth,in_port=1,dl_vlan=10,dl_src=52:54:00:00:00:01,dl_dst=52:54:00:00:00:02
	// Datapath actions: pop_vlan,2
}
