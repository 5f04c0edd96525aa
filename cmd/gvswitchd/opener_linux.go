package main

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/vishvananda/netlink"
)

// opener opens interfaces for ofproto: system devices through AF_PACKET,
// internal and tap interfaces as TAP devices the switch creates.
type opener struct{}

func (opener) Open(name, typ string) (netdev.Port, error) {
	switch typ {
	case "":
		if _, err := netlink.LinkByName(name); err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("open %s: %w", name, syscall.ENODEV)
			}
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		p, err := afpacket.Open(name, afpacket.Options{})
		if err != nil {
			return nil, err
		}
		return p, nil
	case "internal", "tap":
		p, err := openTap(name)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("interface type %q: %w", typ, netdev.ErrNotSupported)
}
