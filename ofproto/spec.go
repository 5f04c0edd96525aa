package ofproto

import (
	"reflect"
	"sort"

	"github.com/gvswitch/gvswitch/datapath"
)

// Spec is the configuration the database asks for, as plain values built
// from monitored rows (BuildSpec). Only rows reachable from the
// Open_vSwitch row count, as in OVS.
type Spec struct {
	// RootUUID is the Open_vSwitch row ("" when the table is empty).
	RootUUID string
	// Root is the Open_vSwitch row itself (nil when missing).
	Root Row
	// NextCfg and CurCfg are the handshake counters.
	NextCfg, CurCfg int64
	// OtherConfig is Open_vSwitch other_config.
	OtherConfig map[string]string
	// Bridges by name.
	Bridges map[string]*BridgeSpec

	ifaces []*IfaceSpec // sorted, computed once by Ifaces
}

// BridgeSpec is one Bridge row.
type BridgeSpec struct {
	UUID, Name   string
	DatapathType string
	DatapathID   string
	OtherConfig  map[string]string
	FloodVLANs   []int64
	// Ports by name.
	Ports map[string]*PortSpec
}

// PortSpec is one Port row.
type PortSpec struct {
	UUID, Name  string
	Tag         int64 // 0 = none
	Trunks      []int64
	CVLANs      []int64
	VLANMode    string
	OtherConfig map[string]string
	Interfaces  []*IfaceSpec
	// QoS is the Port.qos reference ("" when none); Status is Port.status
	// as currently in the database.
	QoS    string
	Status map[string]string
}

// IfaceSpec is one Interface row, with the bridge and port that hold it.
type IfaceSpec struct {
	UUID, Name string
	Type       string
	Options    map[string]string
	// OFPortRequest is ofport_request (0 when empty).
	OFPortRequest int64
	// MTURequest is mtu_request (0 when empty).
	MTURequest int64
	// OFPort and Error are the values currently in the database (OFPort 0
	// when empty), to write only what changes.
	OFPort int64
	Error  string
	// Status columns as currently in the database.
	MACInUse, AdminState, LinkState string
	IfIndex, MTU                    int64
	// Policing is ingress_policing_rate/burst and the kpkts variants.
	Policing datapath.Policing

	Bridge, Port string
}

// Local reports whether the interface is its bridge's local port (named like
// the bridge; it gets OpenFlow port 65534).
func (i *IfaceSpec) Local() bool { return i.Name == i.Bridge }

// specCache remembers decoded Port and Interface rows between passes. Rows
// are replaced, never modified, when an update arrives, so the identity of
// a row's map tells whether the decoded value is still current.
type specCache struct {
	bridges map[string]cachedBridge
	ports   map[string]cachedPort
	ifaces  map[string]cachedIface
}

// cachedBridge and cachedPort keep their row's reference set sorted too:
// decoding and sorting a 1000-port bridge's ports column was a fifth of a
// pass that changed nothing.
type cachedBridge struct {
	row   uintptr
	spec  BridgeSpec // without Ports
	ports []string   // sorted Port uuids
}

type cachedPort struct {
	row    uintptr
	spec   PortSpec // without Interfaces
	ifaces []string // sorted Interface uuids
}

type cachedIface struct {
	row  uintptr
	spec IfaceSpec
}

func newSpecCache() *specCache {
	return &specCache{bridges: make(map[string]cachedBridge), ports: make(map[string]cachedPort), ifaces: make(map[string]cachedIface)}
}

func rowID(r Row) uintptr { return reflect.ValueOf(r).Pointer() }

// BuildSpec turns a replica into a Spec. It never fails: dangling
// references are skipped, duplicate names keep the first row in uuid order.
func BuildSpec(t Tables) *Spec { return buildSpec(t, nil) }

// buildSpec is BuildSpec with an optional decode cache (nil: none). Entries
// for rows that no longer exist are dropped.
func buildSpec(t Tables, c *specCache) *Spec {
	s := &Spec{Bridges: make(map[string]*BridgeSpec)}
	roots := sortedKeys(t["Open_vSwitch"])
	if len(roots) == 0 {
		return s
	}
	s.RootUUID = roots[0]
	root := t["Open_vSwitch"][s.RootUUID]
	s.Root = root
	s.NextCfg, _ = root.colInt("next_cfg")
	s.CurCfg, _ = root.colInt("cur_cfg")
	s.OtherConfig = root.colMap("other_config")
	seenIface := make(map[string]bool)
	brUUIDs := root.colUUIDs("bridges")
	sort.Strings(brUUIDs)
	for _, bu := range brUUIDs {
		br, ok := t["Bridge"][bu]
		if !ok {
			continue
		}
		b, pUUIDs := c.bridge(bu, br)
		if b.Name == "" || s.Bridges[b.Name] != nil {
			continue
		}
		s.Bridges[b.Name] = b
		for _, pu := range pUUIDs {
			pr, ok := t["Port"][pu]
			if !ok {
				continue
			}
			p, iUUIDs := c.port(pu, pr)
			if p.Name == "" || b.Ports[p.Name] != nil {
				continue
			}
			b.Ports[p.Name] = p
			for _, iu := range iUUIDs {
				ir, ok := t["Interface"][iu]
				if !ok {
					continue
				}
				i := c.iface(iu, ir)
				if i.Name == "" || seenIface[i.Name] {
					continue
				}
				seenIface[i.Name] = true
				i.Bridge, i.Port = b.Name, p.Name
				p.Interfaces = append(p.Interfaces, i)
			}
		}
	}
	c.prune(t)
	return s
}

// bridge decodes a Bridge row (with an empty Ports map) and its sorted
// port references, from the cache when the row is unchanged.
func (c *specCache) bridge(uuid string, r Row) (*BridgeSpec, []string) {
	if c != nil {
		if e, ok := c.bridges[uuid]; ok && e.row == rowID(r) {
			b := e.spec
			b.Ports = make(map[string]*PortSpec, len(e.ports))
			return &b, e.ports
		}
	}
	b := BridgeSpec{
		UUID:         uuid,
		Name:         r.colString("name"),
		DatapathType: r.colString("datapath_type"),
		DatapathID:   r.colString("datapath_id"),
		OtherConfig:  r.colMap("other_config"),
		FloodVLANs:   r.colInts("flood_vlans"),
	}
	ports := r.colUUIDs("ports")
	sort.Strings(ports)
	if c != nil {
		c.bridges[uuid] = cachedBridge{row: rowID(r), spec: b, ports: ports}
	}
	b.Ports = make(map[string]*PortSpec, len(ports))
	return &b, ports
}

// port decodes a Port row (without interfaces) and its sorted interface
// references, from the cache when the row is unchanged.
func (c *specCache) port(uuid string, r Row) (*PortSpec, []string) {
	if c != nil {
		if e, ok := c.ports[uuid]; ok && e.row == rowID(r) {
			p := e.spec
			return &p, e.ifaces
		}
	}
	tag, _ := r.colInt("tag")
	p := PortSpec{
		UUID:        uuid,
		Name:        r.colString("name"),
		Tag:         tag,
		Trunks:      r.colInts("trunks"),
		CVLANs:      r.colInts("cvlans"),
		VLANMode:    r.colString("vlan_mode"),
		OtherConfig: r.colMap("other_config"),
		Status:      r.colMap("status"),
	}
	if qos := r.colUUIDs("qos"); len(qos) > 0 {
		p.QoS = qos[0]
	}
	ifaces := r.colUUIDs("interfaces")
	sort.Strings(ifaces)
	if c != nil {
		c.ports[uuid] = cachedPort{row: rowID(r), spec: p, ifaces: ifaces}
	}
	return &p, ifaces
}

// iface decodes an Interface row, from the cache when the row is unchanged.
func (c *specCache) iface(uuid string, r Row) *IfaceSpec {
	if c != nil {
		if e, ok := c.ifaces[uuid]; ok && e.row == rowID(r) {
			i := e.spec
			return &i
		}
	}
	i := ifaceFromRow(uuid, r)
	if c != nil {
		c.ifaces[uuid] = cachedIface{row: rowID(r), spec: *i}
	}
	return i
}

// prune drops cache entries of rows that are gone.
func (c *specCache) prune(t Tables) {
	if c == nil {
		return
	}
	for u := range c.bridges {
		if _, ok := t["Bridge"][u]; !ok {
			delete(c.bridges, u)
		}
	}
	for u := range c.ports {
		if _, ok := t["Port"][u]; !ok {
			delete(c.ports, u)
		}
	}
	for u := range c.ifaces {
		if _, ok := t["Interface"][u]; !ok {
			delete(c.ifaces, u)
		}
	}
}

func ifaceFromRow(uuid string, r Row) *IfaceSpec {
	i := &IfaceSpec{
		UUID:       uuid,
		Name:       r.colString("name"),
		Type:       r.colString("type"),
		Options:    r.colMap("options"),
		Error:      r.colString("error"),
		MACInUse:   r.colString("mac_in_use"),
		AdminState: r.colString("admin_state"),
		LinkState:  r.colString("link_state"),
	}
	i.OFPortRequest, _ = r.colInt("ofport_request")
	i.MTURequest, _ = r.colInt("mtu_request")
	i.OFPort, _ = r.colInt("ofport")
	i.IfIndex, _ = r.colInt("ifindex")
	i.MTU, _ = r.colInt("mtu")
	i.Policing = datapath.Policing{
		RateKbps:   nonNegative(r.colInt("ingress_policing_rate")),
		BurstKb:    nonNegative(r.colInt("ingress_policing_burst")),
		RateKpps:   nonNegative(r.colInt("ingress_policing_kpkts_rate")),
		BurstKpkts: nonNegative(r.colInt("ingress_policing_kpkts_burst")),
	}
	return i
}

// Ifaces returns every interface of the spec sorted by bridge, then name.
// The slice is computed once and shared: do not modify it.
func (s *Spec) Ifaces() []*IfaceSpec {
	if s.ifaces != nil {
		return s.ifaces
	}
	out := []*IfaceSpec{}
	for _, b := range s.Bridges {
		for _, p := range b.Ports {
			out = append(out, p.Interfaces...)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bridge != out[j].Bridge {
			return out[i].Bridge < out[j].Bridge
		}
		return out[i].Name < out[j].Name
	})
	s.ifaces = out
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nonNegative turns an integer column into a count; the schema already
// forbids negative policing values.
func nonNegative(n int64, _ bool) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}
