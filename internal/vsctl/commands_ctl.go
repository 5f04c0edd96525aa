package vsctl

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

func (c *ctx) realBridgeOf(name string) (*vbridge, error) {
	br, err := c.findBridge(name, true)
	if err != nil {
		return nil, err
	}
	if br.parent != nil {
		br = br.parent
	}
	return br, nil
}

func printTargets(c *ctx, rows []*Row, out *bytes.Buffer) {
	var t []string
	for _, r := range rows {
		t = append(t, c.strCol(r, "target"))
	}
	sort.Strings(t)
	for _, s := range t {
		out.WriteString(s + "\n")
	}
}

func cmdGetController(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.realBridgeOf(cmd.args[0])
	if err != nil {
		return err
	}
	printTargets(c, c.refs(br.row, "controller"), out)
	return nil
}

func cmdDelController(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findRealBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	c.set(br.row, "controller", &Datum{})
	return nil
}

func (c *ctx) insertTargets(table string, targets []string, cmd *cmdLine) (*Datum, error) {
	var probe int64
	hasProbe := false
	if v, ok := cmd.options["--inactivity-probe"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fatalf("--inactivity-probe %s: not a valid integer", v)
		}
		probe, hasProbe = n, true
	}
	var rows []*Row
	for _, t := range targets {
		r := c.insert(table, "")
		c.set(r, "target", one(strAtom(t)))
		if hasProbe {
			c.set(r, "inactivity_probe", one(intAtom(probe)))
		}
		rows = append(rows, r)
	}
	return uuidSet(rows), nil
}

func cmdSetController(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findRealBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	d, err := c.insertTargets("Controller", cmd.args[1:], cmd)
	if err != nil {
		return err
	}
	c.set(br.row, "controller", d)
	return nil
}

func cmdGetFailMode(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.realBridgeOf(cmd.args[0])
	if err != nil {
		return err
	}
	if d := c.get(br.row, "fail_mode"); len(d.Keys) > 0 {
		out.WriteString(d.Keys[0].S + "\n")
	}
	return nil
}

func cmdDelFailMode(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findRealBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	c.set(br.row, "fail_mode", &Datum{})
	return nil
}

func cmdSetFailMode(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findRealBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	mode := cmd.args[1]
	if mode != "standalone" && mode != "secure" {
		return fatalf("fail-mode must be \"standalone\" or \"secure\"")
	}
	c.set(br.row, "fail_mode", one(strAtom(mode)))
	return nil
}

func cmdGetManager(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	printTargets(c, c.refs(c.ovs, "manager_options"), out)
	return nil
}

func cmdDelManager(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	c.set(c.ovs, "manager_options", &Datum{})
	return nil
}

func cmdSetManager(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	d, err := c.insertTargets("Manager", cmd.args, cmd)
	if err != nil {
		return err
	}
	c.set(c.ovs, "manager_options", d)
	return nil
}

func cmdGetSSL(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	rows := c.refs(c.ovs, "ssl")
	if len(rows) == 0 {
		return nil
	}
	s := rows[0]
	fmt.Fprintf(out, "Private key: %s\n", c.strCol(s, "private_key"))
	fmt.Fprintf(out, "Certificate: %s\n", c.strCol(s, "certificate"))
	fmt.Fprintf(out, "CA Certificate: %s\n", c.strCol(s, "ca_cert"))
	fmt.Fprintf(out, "Bootstrap: %s\n", strconv.FormatBool(c.get(s, "bootstrap_ca_cert").Keys[0].B))
	return nil
}

func cmdDelSSL(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	c.set(c.ovs, "ssl", &Datum{})
	return nil
}

func cmdSetSSL(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	r := c.insert("SSL", "")
	c.set(r, "private_key", one(strAtom(cmd.args[0])))
	c.set(r, "certificate", one(strAtom(cmd.args[1])))
	c.set(r, "ca_cert", one(strAtom(cmd.args[2])))
	if cmd.has("--bootstrap") {
		c.set(r, "bootstrap_ca_cert", one(boolAtom(true)))
	}
	c.set(c.ovs, "ssl", one(uuidAtom(r.UUID)))
	return nil
}

func cmdEmerReset(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	c.set(c.ovs, "manager_options", &Datum{})
	c.set(c.ovs, "ssl", &Datum{})
	for _, br := range c.rep.rows("Bridge") {
		for _, col := range []string{"controller", "fail_mode", "mirrors", "netflow", "sflow", "ipfix", "flood_vlans"} {
			c.set(br, col, &Datum{})
		}
		oc := &Datum{Values: []Atom{}}
		old := c.get(br, "other_config")
		if i := old.Find(strAtom("hwaddr")); i >= 0 {
			oc.Add(old.Keys[i], old.Values[i], true, true)
		}
		c.set(br, "other_config", oc)
	}
	for _, p := range c.rep.rows("Port") {
		c.set(p, "other_config", &Datum{Values: []Atom{}})
	}
	for _, i := range c.rep.rows("Interface") {
		c.set(i, "ingress_policing_rate", one(intAtom(0)))
		c.set(i, "ingress_policing_burst", one(intAtom(0)))
	}
	for _, t := range []string{"Mirror", "Controller", "Manager", "NetFlow", "QoS", "Queue", "sFlow", "IPFIX", "SSL"} {
		for _, r := range c.rep.rows(t) {
			c.remove(r)
		}
	}
	c.invalidate()
	return nil
}

func parseAAArg(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fatalf("Invalid argument %s", s)
	}
	return v, nil
}

// aaMappingArgs resolves add-aa-mapping's and del-aa-mapping's BRIDGE ARG1 ARG2.
func aaMappingArgs(c *ctx, cmd *cmdLine) (br *vbridge, isid, vlan int64, err error) {
	if br, err = c.realBridgeOf(cmd.args[0]); err != nil {
		return nil, 0, 0, err
	}
	if isid, err = parseAAArg(cmd.args[1]); err != nil {
		return nil, 0, 0, err
	}
	if vlan, err = parseAAArg(cmd.args[2]); err != nil {
		return nil, 0, 0, err
	}
	return br, isid, vlan, nil
}

func cmdAddAAMapping(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, isid, vlan, err := aaMappingArgs(c, cmd)
	if err != nil {
		return err
	}
	var aa *Row
	if refs := c.refs(br.row, "auto_attach"); len(refs) > 0 {
		aa = refs[0]
	} else {
		aa = c.insert("AutoAttach", "")
		c.set(br.row, "auto_attach", one(uuidAtom(aa.UUID)))
	}
	d := c.get(aa, "mappings").Clone()
	d.Add(intAtom(isid), intAtom(vlan), true, false)
	c.set(aa, "mappings", d)
	return nil
}

func cmdDelAAMapping(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, isid, vlan, err := aaMappingArgs(c, cmd)
	if err != nil {
		return err
	}
	refs := c.refs(br.row, "auto_attach")
	if len(refs) == 0 {
		return nil
	}
	d := c.get(refs[0], "mappings").Clone()
	if i := d.Find(intAtom(isid)); i >= 0 && d.Values[i].I == vlan {
		d.RemoveAt(i)
	}
	c.set(refs[0], "mappings", d)
	return nil
}

func cmdGetAAMapping(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.realBridgeOf(cmd.args[0])
	if err != nil {
		return err
	}
	for _, aa := range c.refs(br.row, "auto_attach") {
		d := c.get(aa, "mappings")
		for i := range d.Keys {
			fmt.Fprintf(out, "%d %d\n", d.Keys[i].I, d.Values[i].I)
		}
	}
	return nil
}
