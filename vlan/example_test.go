package vlan_test

import (
	"fmt"

	"github.com/gvswitch/gvswitch/vlan"
)

// Example follows one frame through a switch: it arrives untagged on an
// access port in VLAN 10 and leaves through a trunk, a native-untagged port
// whose native VLAN is 10, a dot1q-tunnel port whose service VLAN is 10, and
// an access port in VLAN 20, each with its own tags; Edits says how to get
// them from the frame as it arrived.
func Example() {
	access := vlan.PortConfig{Mode: vlan.Access, Tag: 10}
	trunk := vlan.PortConfig{Mode: vlan.Trunk}
	native := vlan.PortConfig{Mode: vlan.NativeUntagged, Tag: 10}
	tunnel := vlan.PortConfig{Mode: vlan.Dot1qTunnel, Tag: 10}
	other := vlan.PortConfig{Mode: vlan.Access, Tag: 20}

	var arriving [2]vlan.Tag // untagged
	xv, ok := vlan.Ingress(&access, arriving)
	fmt.Println("in switch VLAN", xv[0].VID(), ok)

	for _, out := range []struct {
		name string
		cfg  vlan.PortConfig
	}{{"trunk", trunk}, {"native-untagged", native}, {"dot1q-tunnel", tunnel}, {"access 20", other}} {
		tags, ok := vlan.Egress(&out.cfg, xv)
		edits := vlan.Edits(nil, arriving, tags)
		if !ok {
			fmt.Printf("%s: not in this VLAN\n", out.name)
			continue
		}
		fmt.Printf("%s: outer tag %v, edits %v\n", out.name, tags[0], edits)
	}
	// Output:
	// in switch VLAN 10 true
	// trunk: outer tag 0x8100/vid=10,pcp=0, edits [push(0x8100/vid=10,pcp=0)]
	// native-untagged: outer tag none, edits []
	// dot1q-tunnel: outer tag none, edits []
	// access 20: not in this VLAN
}
