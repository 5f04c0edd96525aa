package vsctl

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

func cmdGet(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	if cmd.has("--if-exists") && cmd.has("--id") {
		return fatalf("--if-exists and --id may not be specified together")
	}
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	row, err := c.getRow(t, cmd.args[1], !cmd.has("--if-exists"))
	if err != nil || row == nil {
		return err
	}
	if id, ok := cmd.options["--id"]; ok {
		if s := c.syms[id]; s != nil && !s.created {
			return fatalf("row id \"%s\" specified on \"get\" command was used before it was defined", id)
		}
		s, err := c.createSym(id)
		if err != nil {
			return err
		}
		s.uuid = row.UUID
	}
	for _, arg := range cmd.args[2:] {
		colName, key, hasKey, _, hasValue, err := splitColumnArg(arg)
		if err != nil {
			return err
		}
		if hasValue {
			return fatalf("%s: trailing garbage \"=%s\" in argument", arg, strings.SplitN(arg, "=", 2)[1])
		}
		if colName == "" {
			return fatalf("%s: missing column name", arg)
		}
		col, err := c.findColumn(t, colName)
		if err != nil {
			return err
		}
		d := row.Get(col)
		if !hasKey {
			out.WriteString(d.String(&col.Type) + "\n")
			continue
		}
		if !col.Type.IsMap() {
			return fatalf("cannot specify key to get for non-map column %s", col.Name)
		}
		k, err := parseCheckedAtom(key, &col.Type.Key, nil)
		if err != nil {
			return err
		}
		i := d.Find(k)
		if i < 0 {
			if cmd.has("--if-exists") {
				out.WriteString("\n")
				continue
			}
			return fatalf("no key \"%s\" in %s record \"%s\" column %s", key, t.Name, cmd.args[1], col.Name)
		}
		out.WriteString(AtomString(d.Values[i]) + "\n")
	}
	return nil
}

// listColumns resolves --columns or all columns.
func (c *ctx) listColumns(t *Table, cmd *cmdLine) ([]*Column, error) {
	spec, ok := cmd.options["--columns"]
	if !ok {
		return t.Sorted, nil
	}
	if spec == "" {
		return nil, fatalf("must specify at least one column name")
	}
	var cols []*Column
	for _, n := range strings.Split(spec, ",") {
		col, err := c.findColumn(t, n)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	return cols, nil
}

func cmdList(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	cols, err := c.listColumns(t, cmd)
	if err != nil {
		return err
	}
	var rows []*Row
	if len(cmd.args) > 1 {
		for _, id := range cmd.args[1:] {
			r, err := c.getRow(t, id, !cmd.has("--if-exists"))
			if err != nil {
				return err
			}
			if r != nil {
				rows = append(rows, r)
			}
		}
	} else {
		rows = c.rep.rows(t.Name)
	}
	c.renderRows(out, cols, rows)
	c.tableOut[out] = true
	return nil
}

func cmdFind(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	cols, err := c.listColumns(t, cmd)
	if err != nil {
		return err
	}
	var rows []*Row
	for _, r := range c.rep.rows(t.Name) {
		ok := true
		for _, cond := range cmd.args[1:] {
			m, err := c.evalCondition(t, r, cond)
			if err != nil {
				return err
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			rows = append(rows, r)
		}
	}
	c.renderRows(out, cols, rows)
	c.tableOut[out] = true
	return nil
}

var condOps = []string{"{not-in}", "{in}", "{!=}", "{<=}", "{>=}", "{=}", "{<}", "{>}", "!=", "<=", ">=", "=", "<", ">"}

// splitCondition splits "COL[:KEY]OP VALUE".
func splitCondition(arg string) (col, key string, hasKey bool, op, value string, err error) {
	i := strings.IndexAny(arg, ":=!<>{")
	if i < 0 {
		i = len(arg)
	}
	col = arg[:i]
	rest := arg[i:]
	if len(rest) > 0 && rest[0] == ':' {
		tok, r, terr := parseToken(rest[1:])
		if terr != nil {
			return "", "", false, "", "", terr
		}
		key, hasKey, rest = tok, true, r
	}
	for _, o := range condOps {
		if strings.HasPrefix(rest, o) {
			return col, key, hasKey, o, rest[len(o):], nil
		}
	}
	return "", "", false, "", "", fatalf("%s: argument does not end in \"=\", \"!=\", \"<\", \">\", \"<=\", \">=\", \"{=}\", \"{!=}\", \"{<}\", \"{>}\", \"{<=}\", \"{>=}\", \"{in}\", or \"{not-in}\" followed by a value.", arg)
}

func (c *ctx) evalCondition(t *Table, r *Row, arg string) (bool, error) {
	colName, key, hasKey, op, value, err := splitCondition(arg)
	if err != nil {
		return false, err
	}
	if colName == "" {
		return false, fatalf("%s: missing column name", arg)
	}
	col, err := c.findColumn(t, colName)
	if err != nil {
		return false, err
	}
	have := r.Get(col)
	var want *Datum
	typ := col.Type
	if hasKey {
		if !col.Type.IsMap() {
			return false, fatalf("cannot specify key to check for non-map column %s", col.Name)
		}
		k, err := parseCheckedAtom(key, &col.Type.Key, nil)
		if err != nil {
			return false, err
		}
		typ = ColType{Key: col.Type.Value, Min: 0, Max: 1}
		if i := have.Find(k); i >= 0 {
			have = &Datum{Keys: []Atom{have.Values[i]}}
		} else {
			have = &Datum{}
		}
		a, err := parseCheckedAtom(value, &col.Type.Value, c.resolveSym)
		if err != nil {
			return false, err
		}
		want = one(a)
	} else {
		relaxed := typ
		relaxed.Min = 0
		if strings.HasPrefix(op, "{") && op != "{in}" && op != "{not-in}" {
			relaxed.Max = unlimited
		}
		if want, err = parseDatum(value, &relaxed, c.resolveSym); err != nil {
			return false, err
		}
	}
	return evalOp(op, have, want, &typ), nil
}

func isSubset(a, b *Datum, isMap bool) bool {
	for i, k := range a.Keys {
		j := b.Find(k)
		if j < 0 {
			return false
		}
		if isMap && compareAtoms(a.Values[i], b.Values[j]) != 0 {
			return false
		}
	}
	return true
}

// compareDatums orders values by element count, then keys, then values.
func compareDatums(a, b *Datum) int {
	if len(a.Keys) != len(b.Keys) {
		if len(a.Keys) < len(b.Keys) {
			return -1
		}
		return 1
	}
	for i := range a.Keys {
		if c := compareAtoms(a.Keys[i], b.Keys[i]); c != 0 {
			return c
		}
	}
	if a.Values != nil && b.Values != nil {
		for i := range a.Values {
			if c := compareAtoms(a.Values[i], b.Values[i]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func evalOp(op string, have, want *Datum, t *ColType) bool {
	isMap := t.IsMap()
	cmp := compareDatums(have, want)
	switch op {
	case "=", "{=}":
		return have.Equal(want)
	case "!=", "{!=}":
		return !have.Equal(want)
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "{in}":
		return isSubset(have, want, isMap)
	case "{not-in}":
		for _, k := range have.Keys {
			if want.Find(k) >= 0 {
				return false
			}
		}
		return true
	case "{<}":
		return isSubset(have, want, isMap) && !have.Equal(want)
	case "{<=}":
		return isSubset(have, want, isMap)
	case "{>}":
		return isSubset(want, have, isMap) && !have.Equal(want)
	case "{>=}":
		return isSubset(want, have, isMap)
	}
	return false
}

// setColumn applies one "COL[:KEY]=VALUE" argument to row.
func (c *ctx) setColumn(r *Row, arg string, isDBSet bool) error {
	colName, key, hasKey, value, hasValue, err := splitColumnArg(arg)
	if err != nil {
		var fe *fatalError
		if errors.As(err, &fe) && strings.Contains(fe.msg, "trailing garbage") {
			return fatalf("%s: argument does not end in \"=\" followed by a value.", arg)
		}
		return err
	}
	if colName == "" {
		return fatalf("%s: missing column name", arg)
	}
	col, err := c.findColumn(r.Table, colName)
	if err != nil {
		return err
	}
	if !hasValue || value == "" {
		return fatalf("%s: argument does not end in \"=\" followed by a value.", arg)
	}
	if !col.Mutable && !r.Inserted || col.Name == "_uuid" || col.Name == "_version" {
		return fatalf("cannot modify read-only column %s in table %s", col.Name, r.Table.Name)
	}
	if hasKey {
		if !col.Type.IsMap() {
			return fatalf("cannot specify key to set for non-map column %s", col.Name)
		}
		k, err := parseCheckedAtom(key, &col.Type.Key, c.resolveSym)
		if err != nil {
			return err
		}
		v, err := parseCheckedAtom(value, &col.Type.Value, c.resolveSym)
		if err != nil {
			return err
		}
		d := r.Get(col).Clone()
		d.Add(k, v, true, true)
		c.set(r, col.Name, d)
		return nil
	}
	d, err := parseDatum(value, &col.Type, c.resolveSym)
	if err != nil {
		return err
	}
	c.set(r, col.Name, d)
	return nil
}

func (c *ctx) recordForWrite(cmd *cmdLine) (*Table, *Row, error) {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return nil, nil, err
	}
	r, err := c.getRow(t, cmd.args[1], !cmd.has("--if-exists"))
	return t, r, err
}

func cmdSet(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	_, r, err := c.recordForWrite(cmd)
	if err != nil || r == nil {
		return err
	}
	for _, arg := range cmd.args[2:] {
		if err := c.setColumn(r, arg, true); err != nil {
			return err
		}
	}
	c.invalidate()
	return nil
}

func (c *ctx) writableColumn(t *Table, name string) (*Column, error) {
	col, err := c.findColumn(t, name)
	if err != nil {
		return nil, err
	}
	if !col.Mutable || col.Name == "_uuid" {
		return nil, fatalf("cannot modify read-only column %s in table %s", col.Name, t.Name)
	}
	return col, nil
}

func cmdAdd(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, r, err := c.recordForWrite(cmd)
	if err != nil || r == nil {
		return err
	}
	col, err := c.writableColumn(t, cmd.args[2])
	if err != nil {
		return err
	}
	relaxed := col.Type
	relaxed.Min, relaxed.Max = 0, unlimited
	d := r.Get(col).Clone()
	for _, v := range cmd.args[3:] {
		add, err := parseDatum(v, &relaxed, c.resolveSym)
		if err != nil {
			return err
		}
		for i, k := range add.Keys {
			var val Atom
			if col.Type.IsMap() {
				val = add.Values[i]
			}
			d.Add(k, val, col.Type.IsMap(), true)
		}
	}
	c.set(r, col.Name, d)
	c.invalidate()
	return nil
}

func cmdRemove(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, r, err := c.recordForWrite(cmd)
	if err != nil || r == nil {
		return err
	}
	col, err := c.writableColumn(t, cmd.args[2])
	if err != nil {
		return err
	}
	d := r.Get(col).Clone()
	for _, v := range cmd.args[3:] {
		relaxed := col.Type
		relaxed.Min, relaxed.Max = 0, unlimited
		rm, err := parseDatum(v, &relaxed, c.resolveSym)
		if err != nil && col.Type.IsMap() {
			// A map accepts a bare set of keys too.
			keysOnly := ColType{Key: col.Type.Key, Min: 0, Max: unlimited}
			rm, err = parseDatum(v, &keysOnly, c.resolveSym)
		}
		if err != nil {
			return err
		}
		for i, k := range rm.Keys {
			j := d.Find(k)
			if j < 0 {
				continue
			}
			if col.Type.IsMap() && rm.Values != nil && compareAtoms(rm.Values[i], d.Values[j]) != 0 {
				continue
			}
			d.RemoveAt(j)
		}
	}
	if len(d.Keys) < col.Type.Min {
		return fatalf("\"remove\" operation would put %d values in column %s of table %s but the minimum number is %d", len(d.Keys), col.Name, t.Name, col.Type.Min)
	}
	c.set(r, col.Name, d)
	c.invalidate()
	return nil
}

func cmdClear(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, r, err := c.recordForWrite(cmd)
	if err != nil || r == nil {
		return err
	}
	for _, name := range cmd.args[2:] {
		col, err := c.writableColumn(t, name)
		if err != nil {
			return err
		}
		if col.Type.Min > 0 {
			return fatalf("\"clear\" operation cannot be applied to column %s of table %s, which is not allowed to be empty", col.Name, t.Name)
		}
		d := &Datum{}
		if col.Type.IsMap() {
			d.Values = []Atom{}
		}
		c.set(r, col.Name, d)
	}
	c.invalidate()
	return nil
}

func cmdCreate(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	uuid := ""
	var sym *symbol
	if id, ok := cmd.options["--id"]; ok {
		if sym, err = c.createSym(id); err != nil {
			return err
		}
		uuid = sym.uuid
	}
	r := c.insert(t.Name, uuid)
	for _, arg := range cmd.args[1:] {
		if err := c.setColumn(r, arg, true); err != nil {
			return err
		}
	}
	c.created = append(c.created, createdRow{row: r, out: out, sym: sym, symName: cmd.options["--id"]})
	c.invalidate()
	return nil
}

func postCreate(c *ctx, cmd *cmdLine, out *bytes.Buffer) {}

func cmdDestroy(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	if cmd.has("--all") {
		if len(cmd.args) > 1 {
			return fatalf("--all and records argument should not be specified together")
		}
		for _, r := range c.rep.rows(t.Name) {
			c.remove(r)
		}
		c.invalidate()
		return nil
	}
	if len(cmd.args) == 1 {
		c.warnf("db_ctl_base", "either --all or records argument should be specified")
		return nil
	}
	for _, id := range cmd.args[1:] {
		r, err := c.getRow(t, id, !cmd.has("--if-exists"))
		if err != nil {
			return err
		}
		if r != nil {
			c.remove(r)
		}
	}
	c.invalidate()
	return nil
}

func cmdWaitUntil(c *ctx, cmd *cmdLine, out *bytes.Buffer) error {
	t, err := c.findTable(cmd.args[0])
	if err != nil {
		return err
	}
	r, err := c.getRow(t, cmd.args[1], false)
	if err != nil {
		return err
	}
	if r == nil {
		return tryAgainError{}
	}
	for _, cond := range cmd.args[2:] {
		ok, err := c.evalCondition(t, r, cond)
		if err != nil {
			return err
		}
		if !ok {
			return tryAgainError{}
		}
	}
	return nil
}

var _ = fmt.Sprintf
