package vsctl

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
)

// fatalError is a command failure printed as "ovs-vsctl: MSG" with exit 1.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error {
	return &fatalError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends the program with a status and no message (br-exists).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// tryAgain asks the main loop to wait for a database change and rerun the
// commands (wait-until).
type tryAgainError struct{}

func (tryAgainError) Error() string { return "try again" }

type symbol struct {
	uuid    string
	created bool
	strong  bool
}

// ctx is the state shared by the commands of one invocation.
type ctx struct {
	opts    *options
	rep     *replica
	schema  *Schema
	syms    map[string]*symbol
	symList []string
	warns   []string

	// vsctl's view of bridges, ports and interfaces.
	cache *vcache

	// interfaces inserted by add-br/add-port/add-bond, for the post-check.
	newIfaces []*Row
	created   []createdRow
	tableOut  map[*bytes.Buffer]bool // outputs of list/find, exempt from --oneline
	ovs       *Row
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (c *ctx) table(name string) *Table { return c.schema.Tables[name] }

// get returns the value of a column.
func (c *ctx) get(r *Row, col string) *Datum {
	return r.Get(r.Table.Columns[col])
}

// set stages a whole-column write.
func (c *ctx) set(r *Row, col string, d *Datum) {
	if r.Table.Columns[col] == nil {
		return // not in the server's schema
	}
	if r.Staged == nil {
		r.Staged = map[string]*Datum{}
	}
	r.Staged[col] = d
}

// insert stages a new row.
func (c *ctx) insert(table string, uuid string) *Row {
	if uuid == "" {
		uuid = newUUID()
	}
	t := c.table(table)
	r := &Row{UUID: uuid, Table: t, Data: map[string]*Datum{}, Staged: map[string]*Datum{}, Inserted: true}
	td := c.rep.tables[table]
	td.rows[uuid] = r
	td.order = append(td.order, r)
	return r
}

// remove stages a row deletion.
func (c *ctx) remove(r *Row) { r.Deleted = true }

// Datum helpers.

func strAtom(s string) Atom  { return Atom{T: TypeString, S: s} }
func intAtom(i int64) Atom   { return Atom{T: TypeInteger, I: i} }
func uuidAtom(u string) Atom { return Atom{T: TypeUUID, S: u} }
func boolAtom(b bool) Atom   { return Atom{T: TypeBoolean, B: b} }

func one(a Atom) *Datum { return &Datum{Keys: []Atom{a}} }

func uuidSet(rows []*Row) *Datum {
	d := &Datum{}
	for _, r := range rows {
		d.Keys = append(d.Keys, uuidAtom(r.UUID))
	}
	d.sortDatum()
	return d
}

// refs returns the live rows a uuid column refers to.
func (c *ctx) refs(r *Row, col string) []*Row {
	colp := r.Table.Columns[col]
	if colp == nil {
		return nil
	}
	d := r.Get(colp)
	var out []*Row
	for _, k := range d.Keys {
		if row := c.rep.row(colp.Type.Key.RefTable, k.S); row != nil {
			out = append(out, row)
		}
	}
	return out
}

// addRef adds uuid to a set column.
func (c *ctx) addRef(r *Row, col, uuid string) {
	d := c.get(r, col).Clone()
	d.Add(uuidAtom(uuid), Atom{}, false, false)
	c.set(r, col, d)
}

// delRef removes uuid from a set column.
func (c *ctx) delRef(r *Row, col, uuid string) {
	d := c.get(r, col).Clone()
	if i := d.Find(uuidAtom(uuid)); i >= 0 {
		d.RemoveAt(i)
	}
	c.set(r, col, d)
}

func (c *ctx) strCol(r *Row, col string) string {
	d := c.get(r, col)
	if len(d.Keys) == 0 {
		return ""
	}
	return d.Keys[0].S
}

// symbol resolution for "@name" references.
func (c *ctx) resolveSym(name string) (string, error) {
	s := c.syms[name]
	if s == nil {
		s = &symbol{uuid: newUUID()}
		c.syms[name] = s
		c.symList = append(c.symList, name)
	}
	s.strong = true
	return s.uuid, nil
}

// createSym binds --id=@name to a new row.
func (c *ctx) createSym(name string) (*symbol, error) {
	if !strings.HasPrefix(name, "@") || len(name) < 2 {
		return nil, fatalf("row id \"%s\" does not begin with \"@\"", name)
	}
	s := c.syms[name]
	if s == nil {
		s = &symbol{uuid: newUUID()}
		c.syms[name] = s
		c.symList = append(c.symList, name)
	} else if s.created {
		return nil, fatalf("row id \"%s\" may only be specified on one --id option", name)
	}
	s.created = true
	return s, nil
}

// warnf records a warning printed to stderr in OVS log format.
func (c *ctx) warnf(module, format string, args ...any) {
	c.warns = append(c.warns, module+"|WARN|"+fmt.Sprintf(format, args...))
}

// ---- vsctl's cache of bridges, ports and interfaces ----

type vbridge struct {
	name   string
	row    *Row // Bridge row (parent's for fake bridges)
	parent *vbridge
	vlan   int64
	fake   *Row // the fake bridge's Port row
	ports  []*vport
	fakes  []*vbridge
}

type vport struct {
	name   string
	row    *Row
	br     *vbridge
	ifaces []*viface
}

type viface struct {
	name string
	row  *Row
	port *vport
}

type vcache struct {
	bridges map[string]*vbridge
	ports   map[string]*vport
	ifaces  map[string]*viface
}

func (c *ctx) populateCache() *vcache {
	if c.cache != nil {
		return c.cache
	}
	vc := &vcache{bridges: map[string]*vbridge{}, ports: map[string]*vport{}, ifaces: map[string]*viface{}}
	c.cache = vc
	if c.ovs == nil {
		return vc
	}
	for _, br := range c.refs(c.ovs, "bridges") {
		name := c.strCol(br, "name")
		if _, dup := vc.bridges[name]; dup {
			continue
		}
		vb := &vbridge{name: name, row: br}
		vc.bridges[name] = vb
		for _, p := range c.refs(br, "ports") {
			if isFakeBridgePort(c, p) {
				pname := c.strCol(p, "name")
				if _, dup := vc.bridges[pname]; dup {
					continue
				}
				fb := &vbridge{name: pname, row: br, parent: vb, vlan: c.get(p, "tag").Keys[0].I, fake: p}
				vc.bridges[pname] = fb
				vb.fakes = append(vb.fakes, fb)
			}
		}
	}
	for _, br := range c.refs(c.ovs, "bridges") {
		vb := vc.bridges[c.strCol(br, "name")]
		if vb == nil || vb.row != br {
			continue
		}
		for _, p := range c.refs(br, "ports") {
			pname := c.strCol(p, "name")
			if _, dup := vc.ports[pname]; dup {
				continue
			}
			owner := vb
			if tag := c.get(p, "tag"); len(tag.Keys) == 1 {
				for _, fb := range vb.fakes {
					if fb.vlan == tag.Keys[0].I {
						owner = fb
					}
				}
			}
			vp := &vport{name: pname, row: p, br: owner}
			owner.ports = append(owner.ports, vp)
			if isFakeBridgePort(c, p) || pname == vb.name {
				// A bridge's own port is not a port in vsctl's view.
				continue
			}
			vc.ports[pname] = vp
			for _, i := range c.refs(p, "interfaces") {
				iname := c.strCol(i, "name")
				if _, dup := vc.ifaces[iname]; dup {
					continue
				}
				vi := &viface{name: iname, row: i, port: vp}
				if _, isBr := vc.bridges[iname]; isBr {
					continue
				}
				vc.ifaces[iname] = vi
				vp.ifaces = append(vp.ifaces, vi)
			}
		}
	}
	return vc
}

func isFakeBridgePort(c *ctx, p *Row) bool {
	fb := c.get(p, "fake_bridge")
	tag := c.get(p, "tag")
	return len(fb.Keys) == 1 && fb.Keys[0].B && len(tag.Keys) == 1 && tag.Keys[0].I >= 0 && tag.Keys[0].I <= 4095
}

// cacheAddPort records a new port (and its interfaces) on br, the way a
// rebuild would see it, without rebuilding the whole cache.
func (c *ctx) cacheAddPort(br *vbridge, p *Row, ifaces []*Row) {
	vc := c.cache
	if vc == nil {
		return
	}
	vp := &vport{name: c.strCol(p, "name"), row: p, br: br}
	br.ports = append(br.ports, vp)
	if _, isBr := vc.bridges[vp.name]; !isBr {
		if _, dup := vc.ports[vp.name]; !dup {
			vc.ports[vp.name] = vp
		}
	}
	for _, i := range ifaces {
		vi := &viface{name: c.strCol(i, "name"), row: i, port: vp}
		vp.ifaces = append(vp.ifaces, vi)
		if _, isBr := vc.bridges[vi.name]; isBr {
			continue
		}
		if _, dup := vc.ifaces[vi.name]; !dup {
			vc.ifaces[vi.name] = vi
		}
	}
}

// cacheDelPort forgets a port and its interfaces.
func (c *ctx) cacheDelPort(vp *vport) {
	vc := c.cache
	if vc == nil {
		return
	}
	if vc.ports[vp.name] == vp {
		delete(vc.ports, vp.name)
	}
	for _, vi := range vp.ifaces {
		if vc.ifaces[vi.name] == vi {
			delete(vc.ifaces, vi.name)
		}
	}
	for i, x := range vp.br.ports {
		if x == vp {
			vp.br.ports = append(vp.br.ports[:i:i], vp.br.ports[i+1:]...)
			break
		}
	}
}

// invalidate drops the cache after a structural change.
func (c *ctx) invalidate() { c.cache = nil }

func (c *ctx) findBridge(name string, mustExist bool) (*vbridge, error) {
	vb := c.populateCache().bridges[name]
	if vb == nil && mustExist {
		return nil, fatalf("no bridge named %s", name)
	}
	return vb, nil
}

func (c *ctx) findRealBridge(name string, mustExist bool) (*vbridge, error) {
	vb, err := c.findBridge(name, mustExist)
	if err != nil {
		return nil, err
	}
	if vb != nil && vb.parent != nil {
		return nil, fatalf("%s is a fake bridge", name)
	}
	return vb, nil
}

func (c *ctx) findPort(name string, mustExist bool) (*vport, error) {
	vp := c.populateCache().ports[name]
	if vp != nil && vp.name == vp.br.name && vp.br.parent == nil {
		// the bridge's local port is found too
		_ = vp
	}
	if vp == nil && mustExist {
		return nil, fatalf("no port named %s", name)
	}
	return vp, nil
}

func (c *ctx) findIface(name string, mustExist bool) (*viface, error) {
	vi := c.populateCache().ifaces[name]
	if vi == nil && mustExist {
		return nil, fatalf("no interface named %s", name)
	}
	return vi, nil
}

var _ = bytes.MinRead
