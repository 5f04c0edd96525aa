package datapath

import (
	"errors"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// UpcallHandler is the slow path: ofproto translates a packet that missed
// every cache into actions and a megaflow wildcard mask.
//
// Upcall is called synchronously from the poll goroutine of the port the
// packet arrived on, so it runs concurrently for different ports and must be
// safe for concurrent use; it should not block for long, since that port's
// traffic waits. key and pkt are valid only during the call and must not be
// modified or kept (copy what you need). The returned Actions are owned by
// the datapath afterwards and must not be modified.
//
// On success the datapath installs a megaflow matching key under mask (with
// in_port, recirc_id, eth_type, IP frag and VLAN presence+VID always exact;
// see FlowPut) unless the flow limit is reached, and executes actions
// on the packet; later packets of the same megaflow never reach the handler.
// An empty action list installs a drop flow.
//
// A returned error drops the packet and counts it as lost, except an error
// wrapping ErrNoInstall, which executes actions on this packet without
// installing a flow (for decisions that must be seen per packet).
type UpcallHandler interface {
	Upcall(key *FlowKey, pkt *packet.Packet) (Actions, Mask, error)
}

// UpcallFunc adapts a function to UpcallHandler.
type UpcallFunc func(key *FlowKey, pkt *packet.Packet) (Actions, Mask, error)

// Upcall implements UpcallHandler.
func (f UpcallFunc) Upcall(key *FlowKey, pkt *packet.Packet) (Actions, Mask, error) {
	return f(key, pkt)
}

// ErrNoInstall is wrapped by an UpcallHandler's error to execute the returned
// actions without installing a megaflow.
var ErrNoInstall = errors.New("do not install flow")
