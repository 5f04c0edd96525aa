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
		// afpacket.Open looks the device up itself and reports a missing
		// one as ENODEV ("No such device" in Interface.error); a separate
		// netlink lookup here would cost a socket per port. LazyRing: the
		// port receives at once and builds its frame ring (an RCU grace
		// period and 8 MiB) only when traffic arrives, so add-port does
		// not wait for it and idle ports never pay it.
		p, err := afpacket.Open(name, afpacket.Options{Logger: o.log, LazyRing: true})
		if err != nil {
			if !errors.Is(err, syscall.ENODEV) && !exists(name) {
				err = fmt.Errorf("open %s: %w: %w", name, syscall.ENODEV, err)
			}
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

// exists reports whether a device named name exists in this namespace.
func exists(name string) bool {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	return !errors.As(err, &nf)
}
