package datapath

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file formats flows and counters the way ovs-appctl dpctl/dump-flows
// and dpif/show print them for Open vSwitch's userspace datapath, so that
// scripts reading those outputs work unchanged. Fields that a flow's mask
// wildcards entirely are omitted; partially masked fields print as
// value/mask.

// FormatFlow returns one line of dpctl/dump-flows output for e, e.g.
//
//	recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(frag=no), packets:3, bytes:294, used:0.123s, actions:2
//
// now is the time "used" is measured from.
func FormatFlow(e *FlowEntry, now time.Time) string {
	var b strings.Builder
	FormatKey(&b, &e.Key, &e.Mask)
	fmt.Fprintf(&b, ", packets:%d, bytes:%d, used:%s", e.Stats.Packets, e.Stats.Bytes, formatUsed(e.Stats.Used, now))
	if e.Stats.TCPFlags != 0 {
		b.WriteString(", flags:")
		b.WriteString(FormatTCPFlags(e.Stats.TCPFlags))
	}
	b.WriteString(", actions:")
	b.WriteString(e.Actions.String())
	return b.String()
}

func formatUsed(used, now time.Time) string {
	if used.IsZero() {
		return "never"
	}
	d := now.Sub(used)
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

// FormatTCPFlags formats TCP flags as dpctl does: S F P R U . E C N.
func FormatTCPFlags(f uint16) string {
	var b strings.Builder
	for _, c := range []struct {
		bit uint16
		ch  byte
	}{{TCPSyn, 'S'}, {TCPFin, 'F'}, {TCPPsh, 'P'}, {TCPRst, 'R'}, {TCPUrg, 'U'},
		{TCPAck, '.'}, {TCPEce, 'E'}, {TCPCwr, 'C'}, {TCPNs, 'N'}} {
		if f&c.bit != 0 {
			b.WriteByte(c.ch)
		}
	}
	return b.String()
}

var tcpFlagNames = [...]string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"}

// formatTCPFlagsMasked formats a tcp_flags match as odp-util does: with a
// full mask the set flags joined by "|" ("0" for none), otherwise each
// matched flag as +name (set) or -name (clear).
func formatTCPFlagsMasked(v, m uint16) string {
	var b strings.Builder
	full := m&0x0fff == 0x0fff
	for i, n := range tcpFlagNames {
		bit := uint16(1) << i
		switch {
		case full && v&bit != 0:
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		case !full && m&bit != 0:
			if v&bit != 0 {
				b.WriteByte('+')
			} else {
				b.WriteByte('-')
			}
			b.WriteString(n)
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// fieldList accumulates "name=value" members of one attribute.
type fieldList struct {
	b     *strings.Builder
	first bool
}

func (l *fieldList) add(name, val string) {
	if !l.first {
		l.b.WriteByte(',')
	}
	l.first = false
	l.b.WriteString(name)
	l.b.WriteByte('=')
	l.b.WriteString(val)
}

// attr writes name(members) when fill adds at least one member.
func attr(b *strings.Builder, sep *bool, name string, fill func(l *fieldList)) {
	var inner strings.Builder
	l := fieldList{b: &inner, first: true}
	fill(&l)
	if l.first {
		return
	}
	if *sep {
		b.WriteByte(',')
	}
	*sep = true
	b.WriteString(name)
	b.WriteByte('(')
	b.WriteString(inner.String())
	b.WriteByte(')')
}

func macStr(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

func addMAC(l *fieldList, name string, v, m [6]byte) {
	switch m {
	case [6]byte{}:
	case ExactMAC:
		l.add(name, macStr(v))
	default:
		l.add(name, macStr(v)+"/"+macStr(m))
	}
}

func addIPv4(l *fieldList, name string, v, m [4]byte) {
	switch m {
	case [4]byte{}:
	case ExactIPv4:
		l.add(name, netip.AddrFrom4(v).String())
	default:
		l.add(name, netip.AddrFrom4(v).String()+"/"+netip.AddrFrom4(m).String())
	}
}

func addIPv6(l *fieldList, name string, v, m [16]byte) {
	switch m {
	case [16]byte{}:
	case ExactIPv6:
		l.add(name, netip.AddrFrom16(v).String())
	default:
		l.add(name, netip.AddrFrom16(v).String()+"/"+netip.AddrFrom16(m).String())
	}
}

func addUint(l *fieldList, name string, v, m, all uint64, hex bool) {
	if m == 0 {
		return
	}
	f := func(x uint64) string {
		if hex {
			return "0x" + strconv.FormatUint(x, 16)
		}
		return strconv.FormatUint(x, 10)
	}
	if m == all {
		l.add(name, f(v))
		return
	}
	l.add(name, f(v)+"/0x"+strconv.FormatUint(m, 16))
}

func fragStr(v uint8) string {
	switch {
	case v&FragLater != 0:
		return "later"
	case v&FragAny != 0:
		return "first"
	}
	return "no"
}

// FormatKey writes the match part of a dpctl/dump-flows line: the key's
// fields that m does not wildcard, in Open vSwitch's attribute syntax.
func FormatKey(b *strings.Builder, k *FlowKey, m *Mask) {
	sep := false
	put := func(s string) {
		if sep {
			b.WriteByte(',')
		}
		sep = true
		b.WriteString(s)
	}
	put(fmt.Sprintf("recirc_id(%d)", k.RecircID&m.RecircID))
	if m.TunID != 0 || m.TunSrc != [16]byte{} || m.TunDst != [16]byte{} {
		attr(b, &sep, "tunnel", func(l *fieldList) {
			addUint(l, "tun_id", k.TunID, m.TunID, ^uint64(0), true)
			addIPv4(l, "src", [4]byte(k.TunSrc[:4]), [4]byte(m.TunSrc[:4]))
			addIPv4(l, "dst", [4]byte(k.TunDst[:4]), [4]byte(m.TunDst[:4]))
			addUint(l, "tp_dst", uint64(k.TunTpDst), uint64(m.TunTpDst), 0xffff, false)
		})
	}
	if m.InPort != 0 {
		put(fmt.Sprintf("in_port(%d)", k.InPort))
	}
	put("packet_type(ns=0,id=0)")
	attr(b, &sep, "eth", func(l *fieldList) {
		addMAC(l, "src", k.EthSrc, m.EthSrc)
		addMAC(l, "dst", k.EthDst, m.EthDst)
	})
	// Tags nest: eth_type(TPID),vlan(...),encap(inner...).
	closes := 0
	for i := 0; i < 2; i++ {
		t, tm := k.VLAN[i], m.VLAN[i]
		if !t.Present() || tm.TPID == 0 {
			break
		}
		put(fmt.Sprintf("eth_type(0x%04x)", t.TPID))
		attr(b, &sep, "vlan", func(l *fieldList) {
			addUint(l, "vid", uint64(t.TCI&0x0fff), uint64(tm.TCI&0x0fff), 0x0fff, false)
			addUint(l, "pcp", uint64(t.TCI>>13), uint64(tm.TCI>>13), 7, false)
		})
		b.WriteString(",encap(")
		sep = false
		closes++
	}
	if m.EthType != 0 {
		put(fmt.Sprintf("eth_type(0x%04x)", k.EthType))
	}
	formatL3(b, &sep, k, m)
	for ; closes > 0; closes-- {
		b.WriteByte(')')
	}
}

func formatL3(b *strings.Builder, sep *bool, k *FlowKey, m *Mask) {
	l4 := true
	switch k.EthType & m.EthType {
	case EthTypeIPv4:
		attr(b, sep, "ipv4", func(l *fieldList) {
			addIPv4(l, "src", k.IPv4Src, m.IPv4Src)
			addIPv4(l, "dst", k.IPv4Dst, m.IPv4Dst)
			addUint(l, "proto", uint64(k.NwProto), uint64(m.NwProto), 0xff, false)
			addUint(l, "tos", uint64(k.NwTOS), uint64(m.NwTOS), 0xff, true)
			addUint(l, "ttl", uint64(k.NwTTL), uint64(m.NwTTL), 0xff, false)
			if m.NwFrag != 0 {
				l.add("frag", fragStr(k.NwFrag))
			}
		})
	case EthTypeIPv6:
		attr(b, sep, "ipv6", func(l *fieldList) {
			addIPv6(l, "src", k.IPv6Src, m.IPv6Src)
			addIPv6(l, "dst", k.IPv6Dst, m.IPv6Dst)
			addUint(l, "label", uint64(k.IPv6Label), uint64(m.IPv6Label), 0xfffff, true)
			addUint(l, "proto", uint64(k.NwProto), uint64(m.NwProto), 0xff, false)
			addUint(l, "tclass", uint64(k.NwTOS), uint64(m.NwTOS), 0xff, true)
			addUint(l, "hlimit", uint64(k.NwTTL), uint64(m.NwTTL), 0xff, false)
			if m.NwFrag != 0 {
				l.add("frag", fragStr(k.NwFrag))
			}
		})
	case EthTypeARP:
		attr(b, sep, "arp", func(l *fieldList) {
			addIPv4(l, "sip", k.ARPSpa, m.ARPSpa)
			addIPv4(l, "tip", k.ARPTpa, m.ARPTpa)
			addUint(l, "op", uint64(k.ARPOp), uint64(m.ARPOp), 0xffff, false)
			addMAC(l, "sha", k.ARPSha, m.ARPSha)
			addMAC(l, "tha", k.ARPTha, m.ARPTha)
		})
		l4 = false
	default:
		l4 = false
	}
	if !l4 || m.NwProto == 0 || k.NwFrag&FragLater != 0 {
		return
	}
	ports := func(name string) {
		attr(b, sep, name, func(l *fieldList) {
			addUint(l, "src", uint64(k.TpSrc), uint64(m.TpSrc), 0xffff, false)
			addUint(l, "dst", uint64(k.TpDst), uint64(m.TpDst), 0xffff, false)
		})
	}
	icmp := func(name string) {
		attr(b, sep, name, func(l *fieldList) {
			addUint(l, "type", uint64(k.ICMPType), uint64(m.ICMPType), 0xff, false)
			addUint(l, "code", uint64(k.ICMPCode), uint64(m.ICMPCode), 0xff, false)
		})
	}
	switch k.NwProto {
	case IPProtoTCP:
		ports("tcp")
		if m.TCPFlags != 0 {
			if *sep {
				b.WriteByte(',')
			}
			b.WriteString("tcp_flags(")
			b.WriteString(formatTCPFlagsMasked(k.TCPFlags, m.TCPFlags))
			b.WriteByte(')')
		}
	case IPProtoUDP:
		ports("udp")
	case IPProtoSCTP:
		ports("sctp")
	case IPProtoICMP:
		icmp("icmp")
	case IPProtoICMPv6:
		icmp("icmpv6")
	}
}

// DumpFlows writes every installed megaflow, one FormatFlow line each, as
// dpctl/dump-flows does.
func (dp *Datapath) DumpFlows(w io.Writer) error {
	now := dp.opts.Now()
	bw := bufio.NewWriter(w)
	for _, e := range dp.FlowDump() {
		bw.WriteString(FormatFlow(&e, now))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dump flows: %w", err)
	}
	return nil
}

// LookupsLine returns dpif/show's counters line without indentation:
// "lookups: hit:N missed:N lost:N".
func (s Stats) LookupsLine() string {
	return fmt.Sprintf("lookups: hit:%d missed:%d lost:%d", s.Hit, s.Missed, s.Lost)
}

// FlowsLine returns dpif/show's "flows: N" line without indentation.
func (s Stats) FlowsLine() string { return fmt.Sprintf("flows: %d", s.Flows) }

// DpifShowHeader returns the first line of ovs-appctl dpif/show:
// "netdev@ovs-netdev: hit:N missed:N".
func (dp *Datapath) DpifShowHeader() string {
	s := dp.Stats()
	return fmt.Sprintf("netdev@%s: hit:%d missed:%d", dp.opts.Name, s.Hit, s.Missed)
}

// Name returns the datapath's name ("ovs-netdev" by default), as dpif/show
// prints it after "netdev@".
func (dp *Datapath) Name() string { return dp.opts.Name }

// WriteShow writes dpctl/show's block for the datapath:
//
//	netdev@ovs-netdev:
//	  lookups: hit:0 missed:0 lost:0
//	  flows: 0
//	  port 1: p1 (dummy)
//
// A port whose netdev.Port has a Type() string method other than "system"
// gets its type in parentheses, as dpctl prints it. (Open vSwitch also
// lists its own port 0, "ovs-netdev (tap)"; gvswitch has no such port.)
func (dp *Datapath) WriteShow(w io.Writer) error {
	s := dp.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "netdev@%s:\n  %s\n  %s\n", dp.opts.Name, s.LookupsLine(), s.FlowsLine())
	for _, p := range dp.Ports() {
		fmt.Fprintf(&b, "  port %d: %s", p.No, p.Name)
		if t, ok := p.Port.(interface{ Type() string }); ok && t.Type() != "" && t.Type() != "system" {
			fmt.Fprintf(&b, " (%s)", t.Type())
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("show: %w", err)
	}
	return nil
}

// WritePMDStats writes dpif-netdev/pmd-stats-show's report, one block per
// poll goroutine, with Open vSwitch's line labels (cycle counts, which Go
// cannot read portably, are replaced by the busy time):
//
//	pmd thread port p1 (1):
//	  packets received: 10
//	  ...
func (dp *Datapath) WritePMDStats(w io.Writer) error {
	var b strings.Builder
	ratio := func(a, n uint64) float64 {
		if n == 0 {
			return 0
		}
		return float64(a) / float64(n)
	}
	for _, s := range dp.PMDStats() {
		fmt.Fprintf(&b, "pmd thread port %s (%d):\n", s.Port, s.PortNo)
		fmt.Fprintf(&b, "  packets received: %d\n", s.Packets)
		fmt.Fprintf(&b, "  packet recirculations: 0\n")
		fmt.Fprintf(&b, "  avg. datapath passes per packet: %.2f\n", ratio(s.Packets, s.Packets))
		fmt.Fprintf(&b, "  emc hits: %d\n", s.EMCHits)
		fmt.Fprintf(&b, "  smc hits: 0\n")
		fmt.Fprintf(&b, "  megaflow hits: %d\n", s.MegaflowHits)
		fmt.Fprintf(&b, "  avg. subtable lookups per megaflow hit: %.2f\n", ratio(s.MaskHits, s.MegaflowHits))
		fmt.Fprintf(&b, "  miss with success upcall: %d\n", s.UpcallOK)
		fmt.Fprintf(&b, "  miss with failed upcall: %d\n", s.UpcallFailed)
		fmt.Fprintf(&b, "  avg. packets per output batch: %.2f\n", ratio(s.SentPackets, s.Sends))
		fmt.Fprintf(&b, "  busy time: %s (%.0f ns/packet)\n", s.Busy, ratio(uint64(s.Busy), s.Packets))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("pmd stats: %w", err)
	}
	return nil
}
