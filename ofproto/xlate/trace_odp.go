package xlate

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gvswitch/gvswitch/datapath"
)

// Datapath-flow syntax for Trace, as dpctl/dump-flows prints flows:
//
//	in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x8100),
//	vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6),tcp(src=1,dst=80))
//
// in_port is a datapath port number. Masks ("/ff:ff:...") are ignored, and
// so are attributes NORMAL never reads (recirc_id, packet_type, skb_priority,
// ...).

// isODPFlow reports whether spec uses the datapath-flow syntax.
func isODPFlow(spec string) bool { return strings.Contains(spec, "(") }

// odpAttrs splits "a(x),b(y(z)),c" at top-level commas into name/argument
// pairs.
func odpAttrs(s string) ([][2]string, error) {
	var out [][2]string
	depth, start := 0, 0
	flush := func(end int) error {
		tok := strings.TrimSpace(s[start:end])
		start = end + 1
		if tok == "" {
			return nil
		}
		name, rest, ok := strings.Cut(tok, "(")
		if !ok {
			out = append(out, [2]string{tok, ""})
			return nil
		}
		if !strings.HasSuffix(rest, ")") {
			return fmt.Errorf("%w: unbalanced parentheses in %s", errBadFlow, tok)
		}
		out = append(out, [2]string{strings.TrimSpace(name), rest[:len(rest)-1]})
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("%w: unbalanced parentheses", errBadFlow)
			}
		case ',':
			if depth == 0 {
				if err := flush(i); err != nil {
					return nil, err
				}
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unbalanced parentheses", errBadFlow)
	}
	if err := flush(len(s)); err != nil {
		return nil, err
	}
	return out, nil
}

// odpFields parses "k=v,k=v" (values may carry a "/mask", dropped).
func odpFields(s string) map[string]string {
	m := make(map[string]string)
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		v, _, _ = strings.Cut(v, "/")
		m[k] = v
	}
	return m
}

// parseODPFlow fills a flow key from a datapath flow. vlans counts the
// tags seen so far (encap nesting).
func parseODPFlow(s string, k *datapath.FlowKey, inPortSet *bool, vlans *int) error {
	attrs, err := odpAttrs(s)
	if err != nil {
		return err
	}
	num := func(v string, bitSize int) (uint64, error) {
		n, err := strconv.ParseUint(v, 0, bitSize)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %v", errBadFlow, v, err)
		}
		return n, nil
	}
	for _, a := range attrs {
		name, arg := a[0], a[1]
		f := odpFields(arg)
		switch name {
		case "in_port":
			n, err := num(strings.SplitN(arg, "/", 2)[0], 32)
			if err != nil {
				return err
			}
			k.InPort, *inPortSet = uint32(n), true
		case "eth":
			if k.EthSrc, err = parseMAC(f["src"]); err != nil {
				return fmt.Errorf("%w: eth src: %v", errBadFlow, err)
			}
			if k.EthDst, err = parseMAC(f["dst"]); err != nil {
				return fmt.Errorf("%w: eth dst: %v", errBadFlow, err)
			}
		case "eth_type":
			n, err := num(strings.SplitN(arg, "/", 2)[0], 16)
			if err != nil {
				return err
			}
			k.EthType = uint16(n)
		case "vlan":
			if *vlans >= 2 {
				return fmt.Errorf("%w: more than two VLAN tags", errBadFlow)
			}
			tpid := k.EthType
			if tpid != datapath.EthTypeVLAN && tpid != datapath.EthTypeQinQ {
				tpid = datapath.EthTypeVLAN
			}
			if v, ok := f["tpid"]; ok {
				n, err := num(v, 16)
				if err != nil {
					return err
				}
				tpid = uint16(n)
			}
			vid, err := num(f["vid"], 12)
			if err != nil {
				return err
			}
			var pcp uint64
			if v, ok := f["pcp"]; ok {
				if pcp, err = num(v, 3); err != nil {
					return err
				}
			}
			k.VLAN[*vlans] = datapath.VLANTag{TPID: tpid, TCI: uint16(pcp<<13 | vid)}
			*vlans++
		case "encap":
			if err := parseODPFlow(arg, k, inPortSet, vlans); err != nil {
				return err
			}
		case "ipv4", "ipv6":
			for key, v := range f {
				switch key {
				case "src", "dst":
					ip, err := netip.ParseAddr(v)
					if err != nil || ip.Is4() != (name == "ipv4") {
						return fmt.Errorf("%w: %s %s=%s", errBadFlow, name, key, v)
					}
					switch {
					case name == "ipv4" && key == "src":
						k.IPv4Src = ip.As4()
					case name == "ipv4":
						k.IPv4Dst = ip.As4()
					case key == "src":
						k.IPv6Src = ip.As16()
					default:
						k.IPv6Dst = ip.As16()
					}
				case "proto":
					n, err := num(v, 8)
					if err != nil {
						return err
					}
					k.NwProto = uint8(n)
				}
			}
		case "tcp", "udp", "sctp":
			for key, v := range f {
				if key != "src" && key != "dst" {
					continue
				}
				n, err := num(v, 16)
				if err != nil {
					return err
				}
				if key == "src" {
					k.TpSrc = uint16(n)
				} else {
					k.TpDst = uint16(n)
				}
			}
		case "arp":
			if v, ok := f["op"]; ok {
				n, err := num(v, 16)
				if err != nil {
					return err
				}
				k.ARPOp = uint16(n)
			}
		default:
			// recirc_id, packet_type, skb_priority, skb_mark, ct_*,
			// icmp, nd, tunnel(...): nothing NORMAL reads.
		}
	}
	return nil
}

// parseODP parses a datapath flow and finds its input port in the
// snapshot (the bridge it belongs to may differ from the one named).
func parseODP(s *snapshot, spec string) (datapath.FlowKey, *xport, error) {
	var k datapath.FlowKey
	var inSet bool
	vlans := 0
	if err := parseODPFlow(spec, &k, &inSet, &vlans); err != nil {
		return k, nil, err
	}
	if !inSet {
		return k, nil, fmt.Errorf("%w: in_port is required", errBadFlow)
	}
	in := s.byDP[k.InPort]
	if in == nil {
		return k, nil, fmt.Errorf("%w: no port with datapath port number %d", errBadFlow, k.InPort)
	}
	if k.EthType == datapath.EthTypeVLAN || k.EthType == datapath.EthTypeQinQ {
		k.EthType = 0 // a tag without encap(): the payload type is unknown
	}
	return k, in, nil
}
