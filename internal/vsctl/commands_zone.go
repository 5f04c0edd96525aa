package vsctl

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gvswitch/gvswitch/internal/ovshash"
)

// Conntrack zone timeout policies and datapath capabilities, kept in the
// Datapath rows that Open_vSwitch.datapaths maps datapath types to.

func (c *ctx) datapath(name string) *Row {
	colp := c.ovs.Table.Columns["datapaths"]
	if colp == nil {
		return nil
	}
	d := c.ovs.Get(colp)
	if i := d.Find(strAtom(name)); i >= 0 {
		return c.rep.row("Datapath", d.Values[i].S)
	}
	return nil
}

// zoneArg parses "zone=N" like sscanf("zone=%u").
func zoneArg(s string) int64 {
	return atoi(strings.TrimPrefix(s, "zone="))
}

func (c *ctx) zoneRow(dp *Row, zone int64) *Row {
	d := c.get(dp, "ct_zones")
	if i := d.Find(intAtom(zone)); i >= 0 {
		return c.rep.row("CT_Zone", d.Values[i].S)
	}
	return nil
}

func (c *ctx) timeoutPolicy(args []string) *Datum {
	d := &Datum{Values: []Atom{}}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		d.Add(strAtom(k), intAtom(atoi(v)), true, true)
	}
	return d
}

func cmdAddZoneTP(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	dp := c.datapath(cmd.args[0])
	if dp == nil {
		return fatalf("datapath %s does not exist", cmd.args[0])
	}
	zone := zoneArg(cmd.args[1])
	tp := c.timeoutPolicy(cmd.args[2:])
	if z := c.zoneRow(dp, zone); z != nil {
		if !cmd.has("--may-exist") {
			return fatalf("zone id %d already exists", zone)
		}
		if refs := c.refs(z, "timeout_policy"); len(refs) > 0 {
			c.set(refs[0], "timeouts", tp)
			return nil
		}
	}
	p := c.insert("CT_Timeout_Policy", "")
	c.set(p, "timeouts", tp)
	z := c.insert("CT_Zone", "")
	c.set(z, "timeout_policy", one(uuidAtom(p.UUID)))
	d := c.get(dp, "ct_zones").Clone()
	d.Add(intAtom(zone), uuidAtom(z.UUID), true, true)
	c.set(dp, "ct_zones", d)
	return nil
}

func cmdDelZoneTP(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	dp := c.datapath(cmd.args[0])
	if dp == nil {
		return fatalf("datapath %s does not exist", cmd.args[0])
	}
	zone := zoneArg(cmd.args[1])
	d := c.get(dp, "ct_zones").Clone()
	i := d.Find(intAtom(zone))
	if i < 0 {
		if cmd.has("--if-exists") {
			return nil
		}
		return fatalf("zone id %d does not exist", zone)
	}
	d.RemoveAt(i)
	c.set(dp, "ct_zones", d)
	return nil
}

func cmdListZoneTP(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	dp := c.datapath(cmd.args[0])
	if dp == nil {
		return fatalf("datapath: %s record not found", cmd.args[0])
	}
	zones := c.get(dp, "ct_zones")
	for i, k := range zones.Keys {
		fmt.Fprintf(out, "Zone:%d, Timeout Policies: ", k.I)
		if z := c.rep.row("CT_Zone", zones.Values[i].S); z != nil {
			for _, p := range c.refs(z, "timeout_policy") {
				t := c.get(p, "timeouts")
				for j := range t.Keys {
					if j > 0 {
						out.WriteByte(' ')
					}
					fmt.Fprintf(out, "%s=%d", t.Keys[j].S, t.Values[j].I)
				}
			}
		}
		out.WriteByte('\n')
	}
	return nil
}

func cmdListDPCap(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	dp := c.datapath(cmd.args[0])
	if dp == nil {
		return fatalf("datapath \"%s\" record not found", cmd.args[0])
	}
	caps := c.get(dp, "capabilities")
	// ovs-vsctl walks a string-keyed hash table here, not the sorted map.
	h := ovshash.New()
	vals := map[string]string{}
	for i, k := range caps.Keys {
		h.Insert(ovshash.String(k.S), k.S)
		vals[k.S] = caps.Values[i].S
	}
	for i, k := range h.Keys() {
		if i > 0 {
			out.WriteByte(' ')
		}
		fmt.Fprintf(out, "%s=%s", k, vals[k])
	}
	out.WriteByte('\n')
	return nil
}
