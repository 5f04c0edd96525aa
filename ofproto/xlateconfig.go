package ofproto

import (
	"strconv"
	"time"

	"github.com/gvswitch/gvswitch/ofproto/xlate"
)

// xlateConfigLocked builds the immutable translation snapshot from the spec
// and the live ports. Only attached interfaces appear.
func (v *Vswitch) xlateConfigLocked(s *Spec) *xlate.Config {
	cfg := &xlate.Config{Bridges: make(map[string]*xlate.Bridge, len(s.Bridges))}
	for name, b := range s.Bridges {
		xb := &xlate.Bridge{
			Name:        name,
			Ports:       make(map[uint32]*xlate.Port),
			FloodVLANs:  vlanSet(b.FloodVLANs),
			ForwardBPDU: b.OtherConfig["forward-bpdu"] == "true",
		}
		if n, err := strconv.Atoi(b.OtherConfig["mac-aging-time"]); err == nil && n > 0 {
			xb.MACAgingTime = time.Duration(n) * time.Second
		}
		if n, err := strconv.Atoi(b.OtherConfig["mac-table-size"]); err == nil && n > 0 {
			xb.MACTableSize = n
		}
		for _, p := range b.Ports {
			if len(p.Interfaces) == 0 {
				continue
			}
			// No bonds yet: a port is its first interface.
			i := p.Interfaces[0]
			l := v.rec.ifaces[i.Name]
			if l == nil || !l.attached() {
				continue
			}
			mode, err := xlate.ParseVLANMode(p.VLANMode, p.Tag > 0)
			if err != nil {
				continue
			}
			xp := &xlate.Port{
				Name:     p.Name,
				OFPort:   uint32(l.ofport),
				DPPort:   l.dpNo,
				VLANMode: mode,
				Tag:      uint16(p.Tag & 0xfff),
				Trunks:   vlanSet(p.Trunks),
				CVLANs:   vlanSet(p.CVLANs),
			}
			if i.Name != p.Name {
				xp.Interface = i.Name
			}
			if l.typ == "patch" {
				xp.Patch = i.Options["peer"]
			}
			if p.OtherConfig["qinq-ethtype"] == "802.1q" {
				xp.QinQEthType = 0x8100
			}
			if info, ok := v.linkCache[i.Name]; ok && l.dev != nil && l.typ == "" {
				xp.Down = !info.AdminUp
			}
			xb.Ports[xp.OFPort] = xp
		}
		cfg.Bridges[name] = xb
	}
	return cfg
}

func vlanSet(vids []int64) xlate.VLANSet {
	ints := make([]int, 0, len(vids))
	for _, v := range vids {
		if v >= 0 && v < 4096 {
			ints = append(ints, int(v))
		}
	}
	return xlate.NewVLANSet(ints...)
}
