package xlate

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gvswitch/gvswitch/datapath"
)

// errBadFlow is wrapped by Trace's flow syntax errors.
var errBadFlow = errors.New("invalid flow")

// Trace implements ofproto/trace BRIDGE FLOW for the NORMAL pipeline. FLOW
// is a subset of Open vSwitch's flow syntax: comma-separated in_port (an
// OpenFlow port number, port name or LOCAL), dl_src/eth_src, dl_dst/eth_dst,
// dl_vlan, dl_vlan_pcp, vlan_tci, vlan_tci1 (inner tag), dl_type/eth_type,
// nw_src, nw_dst, nw_proto, nw_tos, nw_ttl, tp_src, tp_dst, ipv6_src,
// ipv6_dst, arp_op, and the shorthands eth, ip, ipv6, arp, tcp, udp, sctp,
// icmp, tcp6, udp6, icmp6. Trace has no side effects: nothing is learned.
//
// The output follows OVS's layout: "Flow:", one section per bridge crossed
// with NORMAL's reasoning ("     -> " lines), "Final flow:", "Megaflow:"
// (the match the datapath would install, printed with OpenFlow port
// numbers) and "Datapath actions:".
//
// FLOW may also be a datapath flow as dpctl/dump-flows prints it
// ("in_port(1),eth(src=..,dst=..),eth_type(0x8100),vlan(vid=10),encap(..)");
// its in_port is a datapath port number and picks the bridge, so bridge may
// then be a datapath name, or the flow may come alone as the first argument
// (Trace(flow, "")), as with OVS's "ofproto/trace [dp] odp_flow".
func (x *Xlate) Trace(bridge, flowSpec string) (string, error) {
	s := x.snap.Load()
	if strings.TrimSpace(flowSpec) == "" && isODPFlow(bridge) {
		bridge, flowSpec = "", bridge
	}
	// "-generate" (OVS: build a packet from the flow) is what Trace does
	// anyway; a packet given in hex is not supported.
	var spec []string
	for _, f := range strings.Fields(flowSpec) {
		switch {
		case f == "-generate" || f == "--generate":
		case len(spec) > 0 && isHexPacket(f):
			return "", fmt.Errorf("%w: tracing a given packet is not supported", errBadFlow)
		default:
			spec = append(spec, strings.Trim(f, ","))
		}
	}
	flowSpec = strings.Join(spec, ",")
	var (
		key datapath.FlowKey
		in  *xport
		err error
	)
	if isODPFlow(flowSpec) {
		key, in, err = parseODP(s, flowSpec)
	} else {
		br := s.bridges[bridge]
		if br == nil {
			return "", ErrNoSuchBridge
		}
		key, in, err = parseFlow(br, flowSpec)
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Flow: %s\n\n", formatFlow(&key, in))
	var c ctx
	c.tr = &b
	c.init(s, &key, learnNone)
	c.translate(in, origStack(&key))
	acts := c.actions()
	if c.failed {
		b.WriteString("\nTranslation failed, dropping.\n")
	}
	b.WriteString("\nFinal flow: unchanged\n")
	fmt.Fprintf(&b, "Megaflow: %s\n", formatMegaflow(&key, &c.mask, in))
	fmt.Fprintf(&b, "Datapath actions: %s\n", acts)
	return b.String(), nil
}

func parseFlow(br *xbridge, spec string) (datapath.FlowKey, *xport, error) {
	var k datapath.FlowKey
	var in *xport
	var vid, pcp uint16
	var haveVID bool
	bad := func(f string, a ...any) (datapath.FlowKey, *xport, error) {
		return k, nil, fmt.Errorf("%w: %s", errBadFlow, fmt.Sprintf(f, a...))
	}
	for _, tok := range strings.Split(spec, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		name, val, hasVal := strings.Cut(tok, "=")
		if !hasVal {
			if !setProto(&k, name) {
				return bad("unknown keyword %s", name)
			}
			continue
		}
		var err error
		switch name {
		case "in_port":
			in = findPort(br, val)
			if in == nil {
				return bad("%s: no port %s in bridge %s", tok, val, br.cfg.Name)
			}
		case "dl_src", "eth_src":
			k.EthSrc, err = parseMAC(val)
		case "dl_dst", "eth_dst":
			k.EthDst, err = parseMAC(val)
		case "dl_vlan":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 16)
			if err == nil && v > 4095 {
				err = errors.New("out of range")
			}
			vid, haveVID = uint16(v), true
		case "dl_vlan_pcp":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 8)
			if err == nil && v > 7 {
				err = errors.New("out of range")
			}
			pcp, haveVID = uint16(v), true
		case "vlan_tci", "vlan_tci1":
			var v uint64
			v, err = strconv.ParseUint(strings.SplitN(val, "/", 2)[0], 0, 16)
			i := 0
			if name == "vlan_tci1" {
				i = 1
			}
			if v&0x1000 != 0 {
				k.VLAN[i] = datapath.VLANTag{TPID: datapath.EthTypeVLAN, TCI: uint16(v) &^ 0x1000}
			}
		case "dl_type", "eth_type":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 16)
			k.EthType = uint16(v)
		case "nw_src", "nw_dst", "ipv6_src", "ipv6_dst":
			var a netip.Addr
			a, err = netip.ParseAddr(strings.SplitN(val, "/", 2)[0])
			switch {
			case err != nil:
			case name == "nw_src" && a.Is4():
				k.IPv4Src = a.As4()
			case name == "nw_dst" && a.Is4():
				k.IPv4Dst = a.As4()
			case name == "ipv6_src" && a.Is6():
				k.IPv6Src = a.As16()
			case name == "ipv6_dst" && a.Is6():
				k.IPv6Dst = a.As16()
			default:
				err = errors.New("wrong address family")
			}
		case "nw_proto", "nw_tos", "nw_ttl":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 8)
			switch name {
			case "nw_proto":
				k.NwProto = uint8(v)
			case "nw_tos":
				k.NwTOS = uint8(v)
			default:
				k.NwTTL = uint8(v)
			}
		case "tp_src", "tp_dst", "arp_op":
			var v uint64
			v, err = strconv.ParseUint(val, 0, 16)
			switch name {
			case "tp_src":
				k.TpSrc = uint16(v)
			case "tp_dst":
				k.TpDst = uint16(v)
			default:
				k.ARPOp = uint16(v)
			}
		default:
			return bad("%s: unknown field %s", tok, name)
		}
		if err != nil {
			return bad("%s: %v", tok, err)
		}
	}
	if in == nil {
		return bad("in_port is required")
	}
	if haveVID {
		if k.VLAN[0].Present() {
			k.VLAN[1] = k.VLAN[0]
		}
		k.VLAN[0] = datapath.VLANTag{TPID: datapath.EthTypeVLAN, TCI: pcp<<13 | vid}
	}
	if in.cfg.Patch == "" {
		k.InPort = in.cfg.DPPort
	}
	return k, in, nil
}

func setProto(k *datapath.FlowKey, kw string) bool {
	switch kw {
	case "eth":
	case "ip":
		k.EthType = datapath.EthTypeIPv4
	case "ipv6":
		k.EthType = datapath.EthTypeIPv6
	case "arp":
		k.EthType = datapath.EthTypeARP
	case "tcp", "udp", "sctp", "icmp":
		k.EthType = datapath.EthTypeIPv4
		k.NwProto = map[string]uint8{"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1}[kw]
	case "tcp6", "udp6", "icmp6":
		k.EthType = datapath.EthTypeIPv6
		k.NwProto = map[string]uint8{"tcp6": 6, "udp6": 17, "icmp6": 58}[kw]
	default:
		return false
	}
	return true
}

func findPort(br *xbridge, s string) *xport {
	if s == "LOCAL" {
		return br.byOF[LocalPort]
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return br.byOF[uint32(n)]
	}
	for _, p := range br.ports {
		if p.cfg.Name == s || p.cfg.InterfaceName() == s {
			return p
		}
	}
	return nil
}

func parseMAC(s string) ([6]byte, error) {
	var m [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil {
		return m, err
	}
	if len(hw) != 6 {
		return m, errors.New("not a 48-bit MAC")
	}
	copy(m[:], hw)
	return m, nil
}

func fmtMAC(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func fmtOFPort(p uint32) string {
	if p == LocalPort {
		return "LOCAL"
	}
	return strconv.FormatUint(uint64(p), 10)
}

// protoName is the shorthand OVS prefixes a flow with.
func protoName(k *datapath.FlowKey) string {
	switch k.EthType {
	case datapath.EthTypeIPv4:
		switch k.NwProto {
		case 6:
			return "tcp"
		case 17:
			return "udp"
		case 132:
			return "sctp"
		case 1:
			return "icmp"
		}
		return "ip"
	case datapath.EthTypeIPv6:
		switch k.NwProto {
		case 6:
			return "tcp6"
		case 17:
			return "udp6"
		case 58:
			return "icmp6"
		}
		return "ipv6"
	case datapath.EthTypeARP:
		return "arp"
	}
	return ""
}

// formatFlow prints a trace's input flow much as OVS's "Flow:" line does.
func formatFlow(k *datapath.FlowKey, in *xport) string {
	var f []string
	if p := protoName(k); p != "" {
		f = append(f, p)
	}
	f = append(f, "in_port="+fmtOFPort(in.cfg.OFPort))
	if v := k.VLAN[0]; v.Present() {
		f = append(f, fmt.Sprintf("dl_vlan=%d,dl_vlan_pcp=%d", v.VID(), v.PCP()))
		tci1 := k.VLAN[1].TCI
		if k.VLAN[1].Present() {
			tci1 |= 0x1000
		}
		f = append(f, fmt.Sprintf("vlan_tci1=0x%04x", tci1))
	} else {
		f = append(f, "vlan_tci=0x0000")
	}
	f = append(f, "dl_src="+fmtMAC(k.EthSrc), "dl_dst="+fmtMAC(k.EthDst))
	switch k.EthType {
	case datapath.EthTypeIPv4:
		f = append(f, "nw_src="+netip.AddrFrom4(k.IPv4Src).String(), "nw_dst="+netip.AddrFrom4(k.IPv4Dst).String())
		if protoName(k) == "ip" {
			f = append(f, fmt.Sprintf("nw_proto=%d", k.NwProto))
		}
		f = append(f, fmt.Sprintf("nw_tos=%d,nw_ecn=%d,nw_ttl=%d,nw_frag=no", k.NwTOS&0xfc, k.NwTOS&3, k.NwTTL))
		if k.NwProto == 6 || k.NwProto == 17 || k.NwProto == 132 {
			f = append(f, fmt.Sprintf("tp_src=%d,tp_dst=%d", k.TpSrc, k.TpDst))
		}
	case datapath.EthTypeIPv6:
		f = append(f, "ipv6_src="+netip.AddrFrom16(k.IPv6Src).String(), "ipv6_dst="+netip.AddrFrom16(k.IPv6Dst).String())
		if k.NwProto == 6 || k.NwProto == 17 || k.NwProto == 132 {
			f = append(f, fmt.Sprintf("tp_src=%d,tp_dst=%d", k.TpSrc, k.TpDst))
		}
	case datapath.EthTypeARP:
		f = append(f, fmt.Sprintf("arp_op=%d", k.ARPOp))
	default:
		f = append(f, fmt.Sprintf("dl_type=0x%04x", k.EthType))
	}
	return strings.Join(f, ",")
}

// formatMegaflow prints the match key&mask as OVS's "Megaflow:" line does,
// for the fields NORMAL can un-wildcard.
func formatMegaflow(k *datapath.FlowKey, m *datapath.Mask, in *xport) string {
	f := []string{"recirc_id=0", "eth", "in_port=" + fmtOFPort(in.cfg.OFPort)}
	if m.VLAN[0].TPID != 0 && k.VLAN[0].Present() {
		v := k.VLAN[0]
		if v.TPID != datapath.EthTypeVLAN {
			f = append(f, fmt.Sprintf("vlan_tpid=0x%04x", v.TPID))
		}
		f = append(f, fmt.Sprintf("dl_vlan=%d", v.VID()))
		if m.VLAN[0].TCI&0xe000 == 0xe000 {
			f = append(f, fmt.Sprintf("dl_vlan_pcp=%d", v.PCP()))
		}
		if m.VLAN[1].TPID != 0 {
			if k.VLAN[1].Present() {
				f = append(f, "vlan_tci1=0x1000/0x1000")
			} else {
				f = append(f, "vlan_tci1=0x0000/0x1000")
			}
		}
	}
	if m.EthSrc != [6]byte{} {
		f = append(f, "dl_src="+fmtMAC(k.EthSrc))
	}
	if m.EthDst != [6]byte{} {
		f = append(f, "dl_dst="+fmtMAC(k.EthDst))
	}
	return strings.Join(f, ",")
}

// isHexPacket reports whether s looks like a packet in hex (at least an
// Ethernet header's 28 digits), as ofproto/trace's optional last argument.
func isHexPacket(s string) bool {
	if len(s) < 28 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
