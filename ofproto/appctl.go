package ofproto

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/unixctl"
)

// Optional capabilities found by type assertion on Options.Xlate and
// Options.Datapath; *xlate.Xlate and *datapath.Datapath provide them.
type (
	fdbShower interface {
		FDB(bridge string) (string, error)
		FlushFDB(bridge string) error
	}
	fdbStatser interface {
		FDBStats(bridge string) (string, error)
		ClearFDBStats(bridge string) error
	}
	fdbEditor interface {
		AddStaticFDB(bridge, port, vlan, mac string) error
		DelStaticFDB(bridge, vlan, mac string) error
	}
	tracer interface {
		Trace(bridge, flow string) (string, error)
	}
	pmdStatser interface {
		WritePMDStats(w io.Writer) error
	}
	dpInfo interface {
		Stats() datapath.Stats
		FlowDump() []datapath.FlowEntry
		FlowFlush()
		Ports() []datapath.PortInfo
	}
)

// errNoSuchBridge is OVS's reply for an unknown bridge argument.
var errNoSuchBridge = errors.New("no such bridge")

// DPName is the one datapath's name, as OVS's userspace datapath calls it.
const DPName = "ovs-netdev"

// hasBridge reports whether the current spec has bridge name.
func (v *Vswitch) hasBridge(name string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.spec != nil && v.spec.Bridges[name] != nil
}

func (v *Vswitch) bridgeNames() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.spec == nil {
		return nil
	}
	return sortedKeys(v.spec.Bridges)
}

// RegisterCommands registers ovs-vswitchd's appctl commands on s. exit is
// called (after the reply is sent) by the "exit" command.
func (v *Vswitch) RegisterCommands(s *unixctl.Server, exit func()) {
	s.Register("exit", "[--cleanup]", 0, 1, func([]string) (string, error) {
		if exit != nil {
			go exit()
		}
		return "", nil
	})
	s.Register("fdb/show", "bridge", 1, 1, v.fdbShow)
	s.Register("fdb/flush", "[bridge]", 0, 1, v.fdbFlush)
	s.Register("fdb/stats-show", "bridge", 1, 1, v.fdbStatsShow)
	s.Register("fdb/stats-clear", "[bridge]", 0, 1, v.fdbStatsClear)
	s.Register("fdb/add", "bridge port vlan mac", 4, 4, func(a []string) (string, error) {
		if !v.hasBridge(a[0]) {
			return "", errNoSuchBridge
		}
		f, ok := v.opts.Xlate.(fdbEditor)
		if !ok {
			return "", errors.New("static fdb entries are not available")
		}
		return "", f.AddStaticFDB(a[0], a[1], a[2], a[3])
	})
	s.Register("fdb/del", "bridge vlan mac", 3, 3, func(a []string) (string, error) {
		if !v.hasBridge(a[0]) {
			return "", errNoSuchBridge
		}
		f, ok := v.opts.Xlate.(fdbEditor)
		if !ok {
			return "", errors.New("static fdb entries are not available")
		}
		return "", f.DelStaticFDB(a[0], a[1], a[2])
	})
	s.Register("ofproto/list", "", 0, 0, func([]string) (string, error) {
		names := v.bridgeNames()
		if len(names) == 0 {
			return "", nil
		}
		return strings.Join(names, "\n") + "\n", nil
	})
	s.Register("ofproto/trace", "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]", 1, unixctl.Unbounded, v.trace)
	s.Register("dpif/show", "", 0, 0, v.dpifShow)
	s.Register("dpif/dump-flows", "[-m] [--names | --no-names] bridge", 1, unixctl.Unbounded, v.dpifDumpFlows)
	s.Register("dpif/dump-dps", "", 0, 0, func([]string) (string, error) { return "netdev@" + DPName + "\n", nil })
	s.Register("dpctl/dump-dps", "", 0, 0, func([]string) (string, error) { return "netdev@" + DPName + "\n", nil })
	s.Register("dpctl/show", "[-s] [dp...]", 0, unixctl.Unbounded, v.dpctlShow)
	s.Register("dpctl/dump-flows", "[-m] [--names] [dp] [filter=..] [type=..] [pmd=..]", 0, unixctl.Unbounded, v.dpctlDumpFlows)
	s.Register("dpctl/del-flows", "[dp]", 0, 1, func([]string) (string, error) {
		dp, ok := v.opts.Datapath.(dpInfo)
		if !ok {
			return "", errors.New("datapath does not support flow dumps")
		}
		dp.FlowFlush()
		return "", nil
	})
	s.Register("upcall/show", "", 0, 0, v.upcallShow)
	s.Register("dpif-netdev/pmd-stats-show", "[-pmd core] [dp]", 0, 3, func([]string) (string, error) {
		dp, ok := v.opts.Datapath.(pmdStatser)
		if !ok {
			return "", errors.New("datapath does not report poll loop statistics")
		}
		var b strings.Builder
		if err := dp.WritePMDStats(&b); err != nil {
			return "", err
		}
		return b.String(), nil
	})
}

func (v *Vswitch) fdbShow(args []string) (string, error) {
	if !v.hasBridge(args[0]) {
		return "", errNoSuchBridge
	}
	if f, ok := v.opts.Xlate.(fdbShower); ok {
		return f.FDB(args[0])
	}
	return " port  VLAN  MAC                Age\n", nil
}

func (v *Vswitch) fdbFlush(args []string) (string, error) {
	br := ""
	if len(args) == 1 {
		br = args[0]
		if !v.hasBridge(br) {
			return "", errNoSuchBridge
		}
	}
	if f, ok := v.opts.Xlate.(fdbShower); ok {
		if err := f.FlushFDB(br); err != nil {
			return "", err
		}
	}
	if v.opts.OnConfigChange != nil {
		v.opts.OnConfigChange()
	}
	return "table successfully flushed\n", nil
}

func (v *Vswitch) fdbStatsShow(args []string) (string, error) {
	if !v.hasBridge(args[0]) {
		return "", errNoSuchBridge
	}
	if f, ok := v.opts.Xlate.(fdbStatser); ok {
		return f.FDBStats(args[0])
	}
	return "", errors.New("fdb statistics are not available")
}

func (v *Vswitch) fdbStatsClear(args []string) (string, error) {
	br := ""
	if len(args) == 1 {
		br = args[0]
		if !v.hasBridge(br) {
			return "", errNoSuchBridge
		}
	}
	if f, ok := v.opts.Xlate.(fdbStatser); ok {
		if err := f.ClearFDBStats(br); err != nil {
			return "", err
		}
	}
	return "statistics successfully cleared\n", nil
}

func (v *Vswitch) trace(args []string) (string, error) {
	br := args[0]
	if !v.hasBridge(br) {
		return "", errNoSuchBridge
	}
	t, ok := v.opts.Xlate.(tracer)
	if !ok {
		return "", errors.New("tracing is not available")
	}
	return t.Trace(br, strings.Join(args[1:], " "))
}

// portType is how dpif/show names a live interface's type.
func portType(l *liveIface) string {
	switch l.typ {
	case "":
		return "system"
	case "internal", "tap":
		return "tap"
	}
	return l.typ
}

func (v *Vswitch) dpifShow([]string) (string, error) {
	var b strings.Builder
	var st datapath.Stats
	if dp, ok := v.opts.Datapath.(dpInfo); ok {
		st = dp.Stats()
	}
	fmt.Fprintf(&b, "netdev@%s: hit:%d missed:%d\n", DPName, st.Hit, st.Missed)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.spec == nil {
		return b.String(), nil
	}
	for _, br := range sortedKeys(v.spec.Bridges) {
		fmt.Fprintf(&b, "  %s:\n", br)
		for _, l := range v.rec.sortedIfaces(br) {
			if !l.attached() {
				continue
			}
			if l.typ == "patch" {
				peer := ""
				if i := v.specIfaceLocked(l.name); i != nil {
					peer = i.Options["peer"]
				}
				fmt.Fprintf(&b, "    %s %d/none: (patch: peer=%s)\n", l.name, l.ofport, peer)
				continue
			}
			fmt.Fprintf(&b, "    %s %d/%d: (%s)\n", l.name, l.ofport, l.dpNo, portType(l))
		}
	}
	return b.String(), nil
}

func (v *Vswitch) specIfaceLocked(name string) *IfaceSpec {
	for _, i := range v.spec.Ifaces() {
		if i.Name == name {
			return i
		}
	}
	return nil
}

func (v *Vswitch) dpctlShow(args []string) (string, error) {
	dp, ok := v.opts.Datapath.(dpInfo)
	if !ok {
		return "", errors.New("datapath does not support dpctl/show")
	}
	stats := false
	for _, a := range args {
		switch {
		case a == "-s" || a == "--statistics":
			stats = true
		case a == "netdev@"+DPName || a == DPName:
		default:
			return "", fmt.Errorf("%s: no such datapath", a)
		}
	}
	st := dp.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "netdev@%s:\n", DPName)
	fmt.Fprintf(&b, "  lookups: hit:%d missed:%d lost:%d\n", st.Hit, st.Missed, st.Lost)
	fmt.Fprintf(&b, "  flows: %d\n", st.Flows)
	v.mu.Lock()
	types := make(map[string]string)
	for name, l := range v.rec.ifaces {
		types[name] = portType(l)
	}
	v.mu.Unlock()
	for _, p := range dp.Ports() {
		if t := types[p.Name]; t == "tap" {
			fmt.Fprintf(&b, "  port %d: %s (tap)\n", p.No, p.Name)
		} else {
			fmt.Fprintf(&b, "  port %d: %s\n", p.No, p.Name)
		}
		if stats && p.Port != nil {
			s := p.Port.Stats()
			fmt.Fprintf(&b, "    RX packets:%d errors:%d dropped:%d overruns:? frame:?\n", s.RxPackets, s.RxErrors, s.RxDropped)
			fmt.Fprintf(&b, "    TX packets:%d errors:%d dropped:%d aborted:? carrier:?\n", s.TxPackets, s.TxErrors, s.TxDropped)
			fmt.Fprintf(&b, "    collisions:?\n")
			fmt.Fprintf(&b, "    RX bytes:%d  TX bytes:%d\n", s.RxBytes, s.TxBytes)
		}
	}
	return b.String(), nil
}

// FlowFormatter renders one megaflow in dpctl/dump-flows format; set by
// cmd/gvswitchd from the datapath package when available.
type FlowFormatter func(f *datapath.FlowEntry, now time.Time) string

func (v *Vswitch) dpctlDumpFlows(args []string) (string, error) {
	dp, ok := v.opts.Datapath.(dpInfo)
	if !ok {
		return "", errors.New("datapath does not support flow dumps")
	}
	format := v.opts.FormatFlow
	if format == nil {
		format = defaultFormatFlow
	}
	flows := dp.FlowDump()
	now := time.Now()
	lines := make([]string, 0, len(flows))
	for i := range flows {
		lines = append(lines, format(&flows[i], now))
	}
	if len(lines) == 0 {
		return "", nil
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// dpifDumpFlows is dpif/dump-flows BRIDGE: the datapath flows whose
// in_port belongs to the bridge.
func (v *Vswitch) dpifDumpFlows(args []string) (string, error) {
	br := args[len(args)-1]
	if !v.hasBridge(br) {
		return "", errNoSuchBridge
	}
	dp, ok := v.opts.Datapath.(dpInfo)
	if !ok {
		return "", errors.New("datapath does not support flow dumps")
	}
	mine := make(map[uint32]bool)
	v.mu.Lock()
	for _, l := range v.rec.ifaces {
		if l.bridge == br && l.dev != nil {
			mine[l.dpNo] = true
		}
	}
	v.mu.Unlock()
	format := v.opts.FormatFlow
	if format == nil {
		format = defaultFormatFlow
	}
	now := time.Now()
	var b strings.Builder
	flows := dp.FlowDump()
	for i := range flows {
		if mine[flows[i].Key.InPort] {
			b.WriteString(format(&flows[i], now))
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

func defaultFormatFlow(f *datapath.FlowEntry, now time.Time) string {
	used := "never"
	if !f.Stats.Used.IsZero() {
		used = fmt.Sprintf("%.3fs", now.Sub(f.Stats.Used).Seconds())
	}
	k := &f.Key
	return fmt.Sprintf("recirc_id(0),in_port(%d),eth(src=%s,dst=%s),eth_type(0x%04x), packets:%d, bytes:%d, used:%s, actions:%s",
		k.InPort, macString(k.EthSrc), macString(k.EthDst), k.EthType, f.Stats.Packets, f.Stats.Bytes, used, actionsString(f.Actions))
}

func actionsString(a datapath.Actions) string {
	if len(a) == 0 {
		return "drop"
	}
	return a.String()
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func (v *Vswitch) upcallShow([]string) (string, error) {
	var flows uint64
	if dp, ok := v.opts.Datapath.(dpInfo); ok {
		flows = dp.Stats().Flows
	}
	limit := datapath.DefaultFlowLimit
	v.mu.Lock()
	if v.tuned != nil && v.tuned.flowLimit > 0 {
		limit = v.tuned.flowLimit
	}
	v.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "netdev@%s:\n", DPName)
	fmt.Fprintf(&b, "  flows         : (current %d) (avg %d) (max %d) (limit %d)\n", flows, flows, flows, limit)
	b.WriteString("  dump duration : 0ms\n")
	b.WriteString("  ufid enabled : true\n")
	return b.String(), nil
}
