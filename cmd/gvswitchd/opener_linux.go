package main

import (
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/tap"
	"github.com/vishvananda/netlink"
)

// opener opens interfaces for ofproto: system devices (type "" or "system",
// including taps held by qemu) through AF_PACKET; internal interfaces and
// bridge-local ports as TAP devices the switch creates (and removes when the
// port goes away, as OVS does); type "tap" attaches to an existing TAP or
// creates one.
type opener struct {
	log *slog.Logger
}

func (o opener) Open(name, typ string) (netdev.Port, error) {
	switch typ {
	case "":
		if _, err := netlink.LinkByName(name); err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("open %s: %w", name, syscall.ENODEV)
			}
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		p, err := afpacket.Open(name, afpacket.Options{Logger: o.log})
		if err != nil {
			return nil, err
		}
		return p, nil
	case "internal":
		// Open vSwitch creates internal ports administratively down; the
		// administrator (or ifupdown, or libvirt's network) brings them up.
		// Created down, the device never sends anything before that.
		return tap.Create(name, tap.Options{Logger: o.log, Down: true})
	case "tap":
		if tap.Exists(name) {
			return tap.Open(name, tap.Options{Logger: o.log})
		}
		p, err := tap.Create(name, tap.Options{Logger: o.log})
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("interface type %q: %w", typ, netdev.ErrNotSupported)
}
