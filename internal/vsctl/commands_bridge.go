package vsctl

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

func cmdInit(c *ctx, cmd *cmdLine, out *bytes.Buffer) error { return nil }

func (c *ctx) checkConflicts(name, msg string) error {
	vc := c.populateCache()
	if _, ok := vc.bridges[name]; ok {
		return fatalf("%s because a bridge named %s already exists", msg, name)
	}
	if p, ok := vc.ports[name]; ok {
		return fatalf("%s because a port named %s already exists on bridge %s", msg, name, p.br.name)
	}
	if i, ok := vc.ifaces[name]; ok {
		return fatalf("%s because an interface named %s already exists on bridge %s", msg, name, i.port.br.name)
	}
	return nil
}

func cmdAddBr(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	name := cmd.args[0]
	if name == "" {
		return fatalf("bridge name must not be empty string")
	}
	var parentName string
	var vlan int64
	fake := len(cmd.args) == 3
	switch len(cmd.args) {
	case 1:
	case 3:
		parentName = cmd.args[1]
		v := atoi(cmd.args[2])
		if v < 0 || v > 4095 {
			return fatalf("%s: vlan must be between 0 and 4095", cmd.name)
		}
		vlan = int64(v)
	default:
		return fatalf("'%s' command takes exactly 1 or 3 arguments", cmd.name)
	}
	if cmd.has("--may-exist") {
		if br, _ := c.findBridge(name, false); br != nil {
			if !fake {
				if br.parent != nil {
					return fatalf("\"--may-exist add-br %s\" but %s is a VLAN bridge for VLAN %d", name, name, br.vlan)
				}
			} else {
				if br.parent == nil {
					return fatalf("\"--may-exist add-br %s %s %d\" but %s is not a VLAN bridge", name, parentName, vlan, name)
				}
				if br.parent.name != parentName {
					return fatalf("\"--may-exist add-br %s %s %d\" but %s has the wrong parent %s", name, parentName, vlan, name, br.parent.name)
				}
				if br.vlan != vlan {
					return fatalf("\"--may-exist add-br %s %s %d\" but %s is a VLAN bridge for the wrong VLAN %d", name, parentName, vlan, name, br.vlan)
				}
			}
			return nil
		}
	}
	if err := c.checkConflicts(name, "cannot create a bridge named "+name); err != nil {
		return err
	}
	iface := c.insert("Interface", "")
	c.set(iface, "name", one(strAtom(name)))
	c.set(iface, "type", one(strAtom("internal")))
	port := c.insert("Port", "")
	c.set(port, "name", one(strAtom(name)))
	c.set(port, "interfaces", one(uuidAtom(iface.UUID)))
	if !fake {
		br := c.insert("Bridge", "")
		c.set(br, "name", one(strAtom(name)))
		c.set(br, "ports", one(uuidAtom(port.UUID)))
		c.addRef(c.ovs, "bridges", br.UUID)
		if c.cache != nil {
			vb := &vbridge{name: name, row: br}
			c.cache.bridges[name] = vb
			c.cacheAddPort(vb, port, []*Row{iface})
		}
		c.newIfaces = append(c.newIfaces, iface)
		return nil
	} else {
		parent, _ := c.findBridge(parentName, false)
		if parent == nil {
			return fatalf("parent bridge %s does not exist", parentName)
		}
		if parent.parent != nil {
			return fatalf("cannot create bridge with fake bridge as parent")
		}
		c.set(port, "fake_bridge", one(boolAtom(true)))
		c.set(port, "tag", one(intAtom(vlan)))
		c.addRef(parent.row, "ports", port.UUID)
	}
	c.newIfaces = append(c.newIfaces, iface)
	c.invalidate()
	return nil
}

func (c *ctx) delPort(p *vport) {
	c.delRef(p.br.row, "ports", p.row.UUID)
	c.cacheDelPort(p)
}

func cmdDelBr(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], !cmd.has("--if-exists"))
	if err != nil || br == nil {
		return err
	}
	if br.parent == nil {
		c.delRef(c.ovs, "bridges", br.row.UUID)
	} else {
		for _, p := range br.ports {
			c.delPort(p)
		}
	}
	c.invalidate()
	return nil
}

func cmdListBr(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	real, fake := cmd.has("--real"), cmd.has("--fake")
	if !real && !fake {
		real, fake = true, true
	}
	var names []string
	for name, br := range c.populateCache().bridges {
		if (br.parent == nil && real) || (br.parent != nil && fake) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out.WriteString(n + "\n")
	}
	return nil
}

func cmdBrExists(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	if br, _ := c.findBridge(cmd.args[0], false); br == nil {
		return &exitError{code: 2}
	}
	return nil
}

func cmdBrToVlan(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d\n", br.vlan)
	return nil
}

func cmdBrToParent(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	if br.parent != nil {
		br = br.parent
	}
	out.WriteString(br.name + "\n")
	return nil
}

func (c *ctx) externalIDsRow(br *vbridge) *Row {
	if br.fake != nil {
		return br.fake
	}
	return br.row
}

func cmdBrSetExternalID(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	row := c.externalIDsRow(br)
	d := c.get(row, "external_ids").Clone()
	if i := d.Find(strAtom(cmd.args[1])); i >= 0 {
		d.RemoveAt(i)
	}
	if len(cmd.args) > 2 {
		d.Add(strAtom(cmd.args[1]), strAtom(cmd.args[2]), true, true)
	}
	c.set(row, "external_ids", d)
	return nil
}

func cmdBrGetExternalID(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	d := c.get(c.externalIDsRow(br), "external_ids")
	if len(cmd.args) > 1 {
		if i := d.Find(strAtom(cmd.args[1])); i >= 0 {
			out.WriteString(d.Values[i].S + "\n")
		}
		return nil
	}
	for i := range d.Keys {
		fmt.Fprintf(out, "%s=%s\n", d.Keys[i].S, d.Values[i].S)
	}
	return nil
}

func cmdListPorts(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range br.ports {
		if p.name != br.name {
			names = append(names, p.name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out.WriteString(n + "\n")
	}
	return nil
}

func cmdListIfaces(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	br, err := c.findBridge(cmd.args[0], true)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range br.ports {
		for _, i := range p.ifaces {
			if i.name != br.name {
				names = append(names, i.name)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out.WriteString(n + "\n")
	}
	return nil
}

func cmdAddPort(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	return c.addPort(cmd, cmd.args[0], cmd.args[1], []string{cmd.args[1]}, cmd.args[2:], false)
}

// atoi parses like C's atoi: optional sign, leading digits, 0 otherwise.
func atoi(s string) int64 {
	s = skipSpace(s)
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var v int64
	for i := 0; i < len(s) && isDigit(s[i]) && v < 1<<40; i++ {
		v = v*10 + int64(s[i]-'0')
	}
	if neg {
		v = -v
	}
	return v
}

func cmdAddBond(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	var ifaces, settings []string
	for _, a := range cmd.args[2:] {
		if len(settings) == 0 && !containsByte(a, '=') {
			ifaces = append(ifaces, a)
		} else {
			settings = append(settings, a)
		}
	}
	if len(ifaces) < 2 {
		return fatalf("add-bond requires at least 2 interfaces, but only %d were specified", len(ifaces))
	}
	return c.addPort(cmd, cmd.args[0], cmd.args[1], ifaces, settings, cmd.has("--fake-iface"))
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func (c *ctx) addPort(cmd *cmdLine, brName, portName string, ifaces, settings []string, fakeIface bool) error {
	if portName == "" {
		return fatalf("port name must not be empty string")
	}
	for _, i := range ifaces {
		if i == "" {
			return fatalf("interface name must not be empty string")
		}
	}
	if cmd.has("--may-exist") {
		quoted := cmd.name + " " + brName + " " + portName
		if cmd.name == "add-bond" {
			quoted += " " + strings.Join(ifaces, " ")
		}
		if p, _ := c.findPort(portName, false); p != nil {
			want, _ := c.findBridge(brName, true)
			if want == nil {
				return fatalf("no bridge named %s", brName)
			}
			if p.br != want {
				if p.br.parent != nil && want.parent == nil && p.br.parent == want {
					return fatalf("\"--may-exist %s\" but %s is actually attached to VLAN %d of bridge %s", quoted, portName, p.br.vlan, want.name)
				}
				return fatalf("\"--may-exist %s\" but %s is actually attached to bridge %s", quoted, portName, p.br.name)
			}
			var have []string
			for _, i := range p.ifaces {
				have = append(have, i.name)
			}
			sort.Strings(have)
			wantIf := append([]string(nil), ifaces...)
			sort.Strings(wantIf)
			if fmt.Sprint(have) != fmt.Sprint(wantIf) {
				return fatalf("\"--may-exist %s\" but %s actually has interface(s) %s", quoted, portName, joinComma(have))
			}
			return nil
		}
	}
	if err := c.checkConflicts(portName, "cannot create a port named "+portName); err != nil {
		return err
	}
	for _, i := range ifaces {
		if err := c.checkConflicts(i, "cannot create an interface named "+i); err != nil {
			return err
		}
	}
	br, err := c.findBridge(brName, true)
	if err != nil {
		return err
	}
	var ifRows []*Row
	for _, name := range ifaces {
		ir := c.insert("Interface", "")
		c.set(ir, "name", one(strAtom(name)))
		ifRows = append(ifRows, ir)
	}
	port := c.insert("Port", "")
	c.set(port, "name", one(strAtom(portName)))
	c.set(port, "interfaces", uuidSet(ifRows))
	if fakeIface {
		c.set(port, "bond_fake_iface", one(boolAtom(true)))
	}
	if br.parent != nil && br.vlan != 0 {
		c.set(port, "tag", one(intAtom(br.vlan)))
	}
	for _, s := range settings {
		if err := c.setColumn(port, s, false); err != nil {
			return err
		}
	}
	c.addRef(br.row, "ports", port.UUID)
	c.newIfaces = append(c.newIfaces, ifRows...)
	c.cacheAddPort(br, port, ifRows)
	return nil
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

func cmdAddBondIface(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	p, err := c.findPort(cmd.args[0], true)
	if err != nil {
		return err
	}
	name := cmd.args[1]
	if cmd.has("--may-exist") {
		if i, _ := c.findIface(name, false); i != nil {
			if i.port == p {
				return nil
			}
			return fatalf("%s --may-exist add-bond-iface %s %s: %s exists but is not on port %s", "", cmd.args[0], name, name, cmd.args[0])
		}
	}
	if err := c.checkConflicts(name, "cannot create an interface named "+name); err != nil {
		return err
	}
	ir := c.insert("Interface", "")
	c.set(ir, "name", one(strAtom(name)))
	c.addRef(p.row, "interfaces", ir.UUID)
	c.invalidate()
	return nil
}

func cmdDelBondIface(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	name := cmd.args[len(cmd.args)-1]
	i, err := c.findIface(name, !cmd.has("--if-exists"))
	if err != nil || i == nil {
		return err
	}
	if len(cmd.args) == 2 {
		p, err := c.findPort(cmd.args[0], true)
		if err != nil {
			return err
		}
		if i.port != p {
			return fatalf("port %s does not have an interface %s", cmd.args[0], name)
		}
	}
	if len(i.port.ifaces) == 1 {
		return fatalf("cannot delete last interface from port %s", i.port.name)
	}
	c.delRef(i.port.row, "interfaces", i.row.UUID)
	c.invalidate()
	return nil
}

func cmdDelPort(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	target := cmd.args[len(cmd.args)-1]
	var br *vbridge
	if len(cmd.args) == 2 {
		var err error
		if br, err = c.findBridge(cmd.args[0], true); err != nil {
			return err
		}
	}
	p, _ := c.findPort(target, false)
	if p == nil && cmd.has("--with-iface") {
		if i, _ := c.findIface(target, false); i != nil {
			p = i.port
		}
	}
	if p == nil {
		if lb, _ := c.findBridge(target, false); lb != nil {
			return fatalf("cannot delete port %s because it is the local port for bridge %s (deleting this port requires deleting the entire bridge)", target, target)
		}
		if cmd.has("--if-exists") {
			return nil
		}
		if cmd.has("--with-iface") {
			return fatalf("no port or interface named %s", target)
		}
		return fatalf("no port named %s", target)
	}
	if br != nil && p.br != br {
		if p.br.parent == br {
			return fatalf("bridge %s does not have a port %s (although its child bridge %s does)", br.name, target, p.br.name)
		}
		return fatalf("bridge %s does not have a port %s", br.name, target)
	}
	if p.name == p.br.name {
		return fatalf("cannot delete port %s because it is the local port for bridge %s (deleting this port requires deleting the entire bridge)", p.name, p.br.name)
	}
	c.delPort(p)
	return nil
}

func cmdPortToBr(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	p, err := c.findPort(cmd.args[0], true)
	if err != nil {
		return err
	}
	out.WriteString(p.br.name + "\n")
	return nil
}

func cmdIfaceToBr(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	i, err := c.findIface(cmd.args[0], true)
	if err != nil {
		return err
	}
	out.WriteString(i.port.br.name + "\n")
	return nil
}
