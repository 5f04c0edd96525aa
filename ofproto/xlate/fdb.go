package xlate

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Errors returned by the fdb back ends, with ovs-vswitchd's texts.
var (
	ErrNoSuchPort    = errors.New("no such port")
	ErrNoStaticEntry = errors.New("could not find static mac entry")
	errBadVLAN       = errors.New("invalid vlan")
	errBadMAC        = errors.New("invalid mac")
)

// FDB returns fdb/show's text for bridge.
func (x *Xlate) FDB(bridge string) (string, error) {
	b := x.snap.Load().bridges[bridge]
	if b == nil {
		return "", ErrNoSuchBridge
	}
	return b.ml.Show(), nil
}

// FlushFDB removes the learned MAC entries of bridge, or of every bridge
// when bridge is empty (fdb/flush; static entries stay, as in OVS). The
// reply text is "table successfully flushed".
func (x *Xlate) FlushFDB(bridge string) error {
	s := x.snap.Load()
	if bridge == "" {
		for _, b := range s.bridges {
			b.ml.Flush()
		}
	} else {
		b := s.bridges[bridge]
		if b == nil {
			return ErrNoSuchBridge
		}
		b.ml.Flush()
	}
	x.notify()
	return nil
}

// AddStaticFDB adds a static entry (fdb/add BRIDGE PORT VLAN MAC). port is a
// port name.
func (x *Xlate) AddStaticFDB(bridge, port, vlan, mac string) error {
	b := x.snap.Load().bridges[bridge]
	if b == nil {
		return ErrNoSuchBridge
	}
	var ofp uint32
	found := false
	for _, p := range b.ports {
		if p.cfg.Name == port || p.cfg.InterfaceName() == port {
			ofp, found = p.cfg.OFPort, true
			break
		}
	}
	if !found {
		return ErrNoSuchPort
	}
	v, m, err := parseVLANMAC(vlan, mac)
	if err != nil {
		return err
	}
	b.ml.AddStatic(v, m, ofp)
	x.notify()
	return nil
}

// DelStaticFDB removes a static entry (fdb/del BRIDGE VLAN MAC).
func (x *Xlate) DelStaticFDB(bridge, vlan, mac string) error {
	b := x.snap.Load().bridges[bridge]
	if b == nil {
		return ErrNoSuchBridge
	}
	v, m, err := parseVLANMAC(vlan, mac)
	if err != nil {
		return err
	}
	if !b.ml.DelStatic(v, m) {
		return ErrNoStaticEntry
	}
	x.notify()
	return nil
}

// FDBStats returns fdb/stats-show's text for bridge.
func (x *Xlate) FDBStats(bridge string) (string, error) {
	b := x.snap.Load().bridges[bridge]
	if b == nil {
		return "", ErrNoSuchBridge
	}
	return b.ml.ShowStats(bridge), nil
}

// ClearFDBStats zeroes the counters of bridge, or of every bridge when
// bridge is empty (fdb/stats-clear; reply "statistics successfully
// cleared").
func (x *Xlate) ClearFDBStats(bridge string) error {
	s := x.snap.Load()
	if bridge == "" {
		for _, b := range s.bridges {
			b.ml.ClearStats()
		}
		return nil
	}
	b := s.bridges[bridge]
	if b == nil {
		return ErrNoSuchBridge
	}
	b.ml.ClearStats()
	return nil
}

func parseVLANMAC(vlan, mac string) (uint16, [6]byte, error) {
	var m [6]byte
	v, err := strconv.ParseUint(vlan, 10, 16)
	if err != nil || v > 4095 {
		return 0, m, fmt.Errorf("%w: %q", errBadVLAN, vlan)
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return 0, m, fmt.Errorf("%w: %q", errBadMAC, mac)
	}
	copy(m[:], hw)
	return uint16(v), m, nil
}
