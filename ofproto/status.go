package ofproto

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// LinkInfo is the kernel's view of a network device.
type LinkInfo struct {
	IfIndex int
	MAC     string
	MTU     int
	AdminUp bool
	LinkUp  bool
}

// LinkSource reads kernel link state and reports changes.
type LinkSource interface {
	// Get returns the device named name.
	Get(name string) (LinkInfo, error)
	// SetMTU sets the device's MTU.
	SetMTU(name string, mtu int) error
	// Subscribe calls fn for every link change (from one goroutine) until
	// the returned stop function is called.
	Subscribe(fn func(name string, info LinkInfo, deleted bool)) (stop func())
}

// linkLister is implemented by LinkSources that can read every device in
// one request (a netlink dump): after a bulk add that beats one request per
// new device.
type linkLister interface {
	List() (map[string]LinkInfo, error)
}

// listThreshold is how many uncached devices make refreshLinksLocked read
// all links at once instead of one by one.
const listThreshold = 32

// refreshLinksLocked reads the kernel state of newly attached devices.
func (v *Vswitch) refreshLinksLocked() {
	var missing []*liveIface
	for name, l := range v.rec.ifaces {
		if l.dev == nil {
			continue
		}
		if info, ok := v.linkCache[name]; ok {
			if l.ifindex == 0 {
				l.ifindex = info.IfIndex
			}
			continue
		}
		missing = append(missing, l)
	}
	var all map[string]LinkInfo
	if lister, ok := v.opts.Links.(linkLister); ok && len(missing) > listThreshold {
		var err error
		if all, err = lister.List(); err != nil {
			v.log.Debug("listing links failed; reading them one by one", "error", err)
			all = nil
		}
	}
	for _, l := range missing {
		info, ok := all[l.name]
		if all == nil {
			var err error
			info, err = v.opts.Links.Get(l.name)
			ok = err == nil
		}
		if !ok {
			// Gone (e.g. deleted while link events were lost):
			// the next pass detaches it and records the error.
			if l.typ == "" && l.attached() && !l.vanished {
				l.vanished = true
				time.AfterFunc(10*time.Millisecond, v.requestPass)
			}
			continue
		}
		v.linkCache[l.name] = info
		if l.ifindex == 0 {
			l.ifindex = info.IfIndex
		}
	}
}

// applyMTURequestsLocked sets the MTU of attached devices whose
// Interface.mtu_request differs from the kernel's value.
func (v *Vswitch) applyMTURequestsLocked(s *Spec) {
	for _, i := range s.Ifaces() {
		l := v.rec.ifaces[i.Name]
		if i.MTURequest <= 0 || l == nil || l.dev == nil {
			continue
		}
		info, ok := v.linkCache[i.Name]
		if !ok {
			// Attached in this pass: links are read after the
			// cur_cfg transaction, but the MTU belongs before it.
			var err error
			if info, err = v.opts.Links.Get(i.Name); err != nil {
				continue
			}
			v.linkCache[i.Name] = info
		}
		if int64(info.MTU) == i.MTURequest {
			continue
		}
		if err := v.opts.Links.SetMTU(i.Name, int(i.MTURequest)); err != nil {
			v.log.Warn("could not set MTU", "interface", i.Name, "mtu", i.MTURequest, "error", err)
			continue
		}
		info.MTU = int(i.MTURequest)
		v.linkCache[i.Name] = info
	}
}

// applyPolicingLocked gives each attached device's datapath port the
// ingress policing its Interface row asks for, when it changed or the port
// was re-attached under another number.
func (v *Vswitch) applyPolicingLocked(s *Spec) {
	pol, ok := v.opts.Datapath.(IngressPolicer)
	if !ok {
		return
	}
	for _, i := range s.Ifaces() {
		l := v.rec.ifaces[i.Name]
		if l == nil || l.dev == nil || (l.policing == i.Policing && l.policedNo == l.dpNo) {
			continue
		}
		if err := pol.SetIngressPolicing(l.dpNo, i.Policing); err != nil {
			v.log.Warn("could not set ingress policing", "interface", i.Name, "error", err)
			continue
		}
		l.policing, l.policedNo = i.Policing, l.dpNo
	}
}

// DatapathTuning is implemented by datapaths whose cache limits follow
// Open_vSwitch other_config (flow-limit, max-idle, emc-insert-inv-prob).
type DatapathTuning interface {
	SetFlowLimit(n int)
	SetMaxIdle(d time.Duration)
	SetEMCInsertInvProb(n int)
}

// applyTuningLocked passes Open_vSwitch other_config's datapath settings to
// the datapath when they change. Missing or invalid values mean the
// defaults, as in Open vSwitch.
func (v *Vswitch) applyTuningLocked(s *Spec) {
	dp, ok := v.opts.Datapath.(DatapathTuning)
	if !ok {
		return
	}
	get := func(key string, def int) int {
		n, err := strconv.Atoi(s.OtherConfig[key])
		if err != nil || n < 0 {
			return def
		}
		return n
	}
	t := tuning{
		flowLimit:  get("flow-limit", 0),
		maxIdleMs:  get("max-idle", 0),
		emcInvProb: get("emc-insert-inv-prob", 100),
	}
	if v.tuned != nil && *v.tuned == t {
		return
	}
	dp.SetFlowLimit(t.flowLimit)
	dp.SetMaxIdle(time.Duration(t.maxIdleMs) * time.Millisecond)
	dp.SetEMCInsertInvProb(t.emcInvProb)
	v.tuned = &t
}

// tuning is the datapath settings last applied by applyTuningLocked.
type tuning struct{ flowLimit, maxIdleMs, emcInvProb int }

// qosNotEnforced is written to Port.status when Port.qos is set: egress
// shaping (QoS and Queue rows, e.g. libvirt's linux-htb for <bandwidth>
// outbound) is recorded but not yet enforced by gvswitch. Ingress policing
// (Interface.ingress_policing_*) is enforced.
const qosNotEnforced = "not enforced: gvswitch records Port.qos but does not shape egress traffic yet"

// portStatus is the Port.status gvswitch reports for p.
func portStatus(p *PortSpec) map[string]string {
	st := map[string]string{}
	if p.QoS != "" {
		st["qos"] = qosNotEnforced
	}
	return st
}

func upDown(b bool) string {
	if b {
		return "up"
	}
	return "down"
}

// writeStatus writes mac_in_use, ifindex, admin_state, link_state, mtu and
// Bridge.datapath_id where they differ from the database (status txn).
func (v *Vswitch) writeStatus(s *Spec) {
	var ops []any
	v.mu.Lock()
	for _, i := range s.Ifaces() {
		l := v.rec.ifaces[i.Name]
		if l == nil || l.typ == "patch" {
			continue
		}
		row := map[string]any{}
		info, ok := v.linkCache[i.Name]
		switch {
		case l.dev != nil && ok:
			if i.MACInUse != info.MAC {
				row["mac_in_use"] = optString(info.MAC)
			}
			if i.IfIndex != int64(info.IfIndex) {
				row["ifindex"] = info.IfIndex
			}
			if i.MTU != int64(info.MTU) {
				row["mtu"] = info.MTU
			}
			if a := upDown(info.AdminUp); i.AdminState != a {
				row["admin_state"] = a
			}
			if ls := upDown(info.LinkUp); i.LinkState != ls {
				row["link_state"] = ls
			}
		case l.dev == nil:
			if i.LinkState != "down" {
				row["link_state"] = "down"
			}
		}
		if len(row) > 0 {
			ops = append(ops, updateRow("Interface", i.UUID, row))
		}
	}
	for _, b := range s.Bridges {
		for _, p := range b.Ports {
			if want := portStatus(p); !reflect.DeepEqual(want, nonNil(p.Status)) {
				ops = append(ops, updateRow("Port", p.UUID, map[string]any{"status": strMap(want)}))
			}
		}
		info, ok := v.linkCache[b.Name]
		if !ok || info.MAC == "" {
			continue
		}
		if id := "0000" + strings.ReplaceAll(info.MAC, ":", ""); b.DatapathID != id {
			ops = append(ops, updateRow("Bridge", b.UUID, map[string]any{"datapath_id": id}))
		}
	}
	v.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	if _, err := v.opts.DB.Transact(ops...); err != nil {
		v.log.Info("status update failed", "error", err)
	}
}

func updateRow(table, uuid string, row map[string]any) map[string]any {
	return map[string]any{
		"op": "update", "table": table,
		"where": []any{[]any{"_uuid", "==", uuidAtom(uuid)}},
		"row":   row,
	}
}

// writeStats writes Interface.statistics for every attached device.
func (v *Vswitch) writeStats(now time.Time) {
	var ops []any
	v.mu.Lock()
	v.lastStats = now
	for _, name := range sortedKeys(v.rec.ifaces) {
		l := v.rec.ifaces[name]
		if l.dev == nil {
			continue
		}
		st := l.dev.Stats()
		ops = append(ops, updateRow("Interface", l.uuid, map[string]any{"statistics": intMap(map[string]int64{
			"rx_packets": int64(st.RxPackets), "rx_bytes": int64(st.RxBytes),
			"rx_dropped": int64(st.RxDropped), "rx_errors": int64(st.RxErrors),
			"tx_packets": int64(st.TxPackets), "tx_bytes": int64(st.TxBytes),
			"tx_dropped": int64(st.TxDropped), "tx_errors": int64(st.TxErrors),
		})}))
	}
	v.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	if _, err := v.opts.DB.Transact(ops...); err != nil {
		v.log.Info("statistics update failed", "error", err)
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
