package xlate

import (
	"sort"

	"github.com/gvswitch/gvswitch/ofproto/maclearn"
)

// snapshot is a Config compiled for translation: indexes by datapath port
// and interface name, effective trunk sets, resolved patch peers, and the
// bridges' MAC tables. It is immutable once published, except for the MAC
// tables, which lock internally.
type snapshot struct {
	cfg     *Config
	bridges map[string]*xbridge
	byDP    map[uint32]*xport // datapath port -> port (patch ports excluded)
}

type xbridge struct {
	cfg   *Bridge
	ml    *maclearn.Table
	ports []*xport // sorted by ofport: the flood order
	byOF  map[uint32]*xport
}

type xport struct {
	br   *xbridge
	cfg  *Port
	peer *xport // patch peer, nil for other ports
	// trunks is the effective set of tagged VLANs the port carries for
	// trunk and native modes (empty trunks column = all; native modes
	// always carry their native VLAN and never VLAN 0 tagged).
	trunks VLANSet
	qinq   uint16
}

// compile builds a snapshot from cfg, reusing MAC tables of bridges that
// old already had (and flushing their entries for ports that went away or
// whose VLAN configuration changed). It returns whether any table changed.
func compile(cfg *Config, old *snapshot, newTable func(*Bridge) *maclearn.Table) *snapshot {
	s := &snapshot{cfg: cfg, bridges: make(map[string]*xbridge), byDP: make(map[uint32]*xport)}
	byIface := make(map[string]*xport)
	if cfg == nil {
		return s
	}
	for name, bc := range cfg.Bridges {
		if bc == nil {
			continue
		}
		xb := &xbridge{cfg: bc, byOF: make(map[uint32]*xport, len(bc.Ports))}
		var prev *xbridge
		if old != nil {
			prev = old.bridges[name]
		}
		if prev != nil {
			xb.ml = prev.ml
			xb.ml.SetLimits(bc.agingTime(), bc.tableSize())
		} else {
			xb.ml = newTable(bc)
		}
		for _, pc := range bc.Ports {
			if pc == nil {
				continue
			}
			// Index by the port's own OFPort: the map key is only a
			// convenience for whoever builds the Config.
			ofp := pc.OFPort
			xp := &xport{br: xb, cfg: pc, trunks: effectiveTrunks(pc), qinq: pc.QinQEthType}
			if xp.qinq == 0 {
				xp.qinq = DefaultQinQEthType
			}
			xb.byOF[ofp] = xp
			xb.ports = append(xb.ports, xp)
			if pc.Patch == "" {
				s.byDP[pc.DPPort] = xp
			}
			byIface[pc.InterfaceName()] = xp
		}
		sort.Slice(xb.ports, func(i, j int) bool { return xb.ports[i].cfg.OFPort < xb.ports[j].cfg.OFPort })
		s.bridges[name] = xb
		if prev != nil {
			flushChanged(prev, xb)
		}
	}
	// Patch peers must name each other and live in different bridges.
	for _, xp := range byIface {
		if xp.cfg.Patch == "" {
			continue
		}
		if p := byIface[xp.cfg.Patch]; p != nil && p.cfg.Patch == xp.cfg.InterfaceName() && p.br != xp.br {
			xp.peer = p
		}
	}
	return s
}

// flushChanged forgets MACs learned on ports that were deleted or whose
// forwarding-relevant configuration changed, as OVS does when a bundle is
// reconfigured; a flood_vlans change flushes the whole table.
func flushChanged(prev, cur *xbridge) {
	if prev.cfg.FloodVLANs != cur.cfg.FloodVLANs {
		prev.ml.Flush()
	}
	for ofp, op := range prev.byOF {
		np := cur.byOF[ofp]
		if np == nil || !samePortVLAN(op.cfg, np.cfg) {
			cur.ml.FlushPort(ofp)
		}
	}
}

func samePortVLAN(a, b *Port) bool {
	return a.Name == b.Name && a.InterfaceName() == b.InterfaceName() && a.Patch == b.Patch &&
		a.VLANMode == b.VLANMode && a.Tag == b.Tag && a.Trunks == b.Trunks &&
		a.CVLANs == b.CVLANs && a.QinQEthType == b.QinQEthType
}

func effectiveTrunks(p *Port) VLANSet {
	var t VLANSet
	switch p.VLANMode {
	case Trunk, NativeTagged, NativeUntagged:
		if p.Trunks.Empty() {
			for i := range t.w {
				t.w[i] = ^uint64(0)
			}
		} else {
			t = p.Trunks
		}
		if p.VLANMode != Trunk && p.Tag != 0 {
			t.Add(p.Tag)
			t.Remove(0)
		}
	}
	return t
}

// includesVLAN reports whether frames of vlan may leave by (or enter on) the
// port, ignoring inner tags (see carries).
func (p *xport) includesVLAN(vlan uint16) bool {
	switch p.cfg.VLANMode {
	case Access, Dot1qTunnel:
		return vlan == p.cfg.Tag
	case NativeTagged, NativeUntagged:
		return vlan == p.cfg.Tag || p.trunks.Has(vlan)
	default:
		return p.trunks.Has(vlan)
	}
}

// name returns the port's name for trace output.
func (p *xport) name() string { return p.cfg.Name }
