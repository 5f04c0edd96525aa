package ovsdb

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// AtomicType is one of RFC 7047's atomic types.
type AtomicType uint8

// The atomic types.
const (
	TypeVoid AtomicType = iota // no value: the value type of a set
	TypeInteger
	TypeReal
	TypeBoolean
	TypeString
	TypeUUID
)

var atomicTypeNames = [...]string{"void", "integer", "real", "boolean", "string", "uuid"}

func (t AtomicType) String() string {
	if int(t) < len(atomicTypeNames) {
		return atomicTypeNames[t]
	}
	return "void"
}

func parseAtomicType(s string) (AtomicType, bool) {
	for i, n := range atomicTypeNames[1:] {
		if n == s {
			return AtomicType(i + 1), true
		}
	}
	return TypeVoid, false
}

// RefType is the strength of a reference (refType).
type RefType uint8

// Reference strengths.
const (
	RefStrong RefType = iota
	RefWeak
)

// Unlimited is the Max of a set or map column with "max":"unlimited".
const Unlimited = math.MaxInt

// BaseType is an atomic type with its constraints (RFC 7047 <base-type>).
type BaseType struct {
	Type       AtomicType
	Enum       []Atom // sorted, nil when absent
	MinInteger int64
	MaxInteger int64
	MinReal    float64
	MaxReal    float64
	MinLength  int
	MaxLength  int
	RefTable   string       // uuid only; "" when not a reference
	RefType    RefType      // uuid with RefTable only
	Ref        *TableSchema // resolved RefTable
}

func newBaseType(t AtomicType) BaseType {
	return BaseType{Type: t, MinInteger: math.MinInt64, MaxInteger: math.MaxInt64,
		MinReal: -math.MaxFloat64, MaxReal: math.MaxFloat64, MaxLength: math.MaxUint32}
}

func (b *BaseType) hasConstraints() bool {
	return b.Enum != nil || b.MinInteger != math.MinInt64 || b.MaxInteger != math.MaxInt64 ||
		b.MinReal != -math.MaxFloat64 || b.MaxReal != math.MaxFloat64 || b.MinLength != 0 ||
		b.MaxLength != math.MaxUint32 || b.RefTable != ""
}

// IsStrongRef reports whether b is a strong reference to another table.
func (b *BaseType) IsStrongRef() bool {
	return b.Type == TypeUUID && b.Ref != nil && b.RefType == RefStrong
}

// IsWeakRef reports whether b is a weak reference to another table.
func (b *BaseType) IsWeakRef() bool {
	return b.Type == TypeUUID && b.Ref != nil && b.RefType == RefWeak
}

// Type is a column type: a key type, an optional value type (a map) and the
// number of elements allowed.
type Type struct {
	Key   BaseType
	Value BaseType // Type == TypeVoid unless a map
	Min   int      // 0 or 1
	Max   int      // >= 1, Unlimited
}

// IsMap reports whether the type is a map.
func (t *Type) IsMap() bool { return t.Value.Type != TypeVoid }

// IsScalar reports whether the type holds exactly one atom.
func (t *Type) IsScalar() bool { return t.Min == 1 && t.Max == 1 && !t.IsMap() }

// IsComposite reports whether the type may hold more than one element; such
// columns are diffed as symmetric differences in update2 and _is_diff records.
func (t *Type) IsComposite() bool { return t.Max > 1 }

// ColumnSchema describes one column.
type ColumnSchema struct {
	Name      string
	Index     int // position in Row.Data and TableSchema.Columns
	Type      Type
	Ephemeral bool
	Mutable   bool
	hidden    bool // _uuid and _version
}

// TableSchema describes one table. Columns[0] is _uuid and Columns[1] is
// _version; user columns follow in name order.
type TableSchema struct {
	Name      string
	Columns   []*ColumnSchema
	ColumnMap map[string]*ColumnSchema
	MaxRows   int // 0: unlimited
	IsRoot    bool
	Indexes   [][]*ColumnSchema

	defaults []*Datum // every column's default, indexed like Columns
	// badDefaults are the user columns, in order, whose default is one
	// atom (or pair) that breaks the column's own constraints (such as ""
	// for a required enum): an insert must not leave them at the default.
	badDefaults  []*ColumnSchema
	hasWeakRefs  bool // some column holds weak references
	hasRefs      bool // some column holds references
	explicitRoot bool
}

// defaultError checks a one-element datum against c's constraints.
func defaultError(c *ColumnSchema, d *Datum) *Error {
	if len(d.Keys) != 1 {
		return nil
	}
	if err := checkAtom(&c.Type.Key, d.Keys[0]); err != nil {
		return err
	}
	if c.Type.IsMap() {
		return checkAtom(&c.Type.Value, d.Values[0])
	}
	return nil
}

// Column returns the named column or nil.
func (ts *TableSchema) Column(name string) *ColumnSchema { return ts.ColumnMap[name] }

// UserColumns returns the columns other than _uuid and _version.
func (ts *TableSchema) UserColumns() []*ColumnSchema { return ts.Columns[2:] }

// Schema is a database schema.
type Schema struct {
	Name       string
	Version    string
	Cksum      string
	Tables     map[string]*TableSchema
	TableNames []string // sorted
}

// Table returns the named table or nil.
func (s *Schema) Table(name string) *TableSchema { return s.Tables[name] }

func isID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return false
		}
	}
	return true
}

// ParseSchema parses an .ovsschema document.
func ParseSchema(data []byte) (*Schema, error) {
	v, err := ParseJSON(data)
	if err != nil {
		return nil, &Error{Tag: TagSyntax, Details: "schema: " + err.Error()}
	}
	return SchemaFromJSON(v)
}

type objParser struct {
	obj  map[string]any
	used []string // members looked at (few, so a slice beats a map)
	what string
	err  *Error
	// opI and opN, when opN > 0, say that what is "ovsdb operation opI of
	// opN", built only when an error needs it.
	opI, opN int
}

func newObjParser(v any, what string) (*objParser, *Error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxErr(v, "%s is not an object", what)
	}
	return &objParser{obj: m, what: what}, nil
}

func (p *objParser) get(name string, required bool) any {
	v, ok := p.obj[name]
	p.used = append(p.used, name)
	if !ok && required && p.err == nil {
		p.err = p.fail("Required '%s' member is missing.", name)
	}
	return v
}

func (p *objParser) str(name string, required bool) (string, bool) {
	v := p.get(name, required)
	if v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok && p.err == nil {
		p.err = p.fail("Type mismatch for member '%s'.", name)
	}
	return s, ok
}

// fail builds Open vSwitch's parser error: "Parsing <what> failed: <msg>"
// with the whole object as syntax.
func (p *objParser) fail(format string, args ...any) *Error {
	e := syntaxErr(p.obj, format, args...)
	if p.what == "" && p.opN > 0 {
		p.what = "ovsdb operation " + strconv.Itoa(p.opI) + " of " + strconv.Itoa(p.opN)
	}
	e.Details = "Parsing " + p.what + " failed: " + e.Details
	return e
}

func (p *objParser) finish() *Error {
	if p.err != nil {
		return p.err
	}
	for k := range p.obj {
		if !slices.Contains(p.used, k) {
			return p.fail("Member '%s' is present but not allowed here.", k)
		}
	}
	return nil
}

func jsonInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func jsonReal(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// SchemaFromJSON builds a schema from a value decoded by ParseJSON.
func SchemaFromJSON(v any) (*Schema, error) {
	p, e := newObjParser(v, "schema")
	if e != nil {
		return nil, e
	}
	s := &Schema{Tables: map[string]*TableSchema{}}
	s.Name, _ = p.str("name", true)
	s.Version, _ = p.str("version", false)
	s.Cksum, _ = p.str("cksum", false)
	tables := p.get("tables", true)
	if e := p.finish(); e != nil {
		return nil, e
	}
	if !isID(s.Name) {
		return nil, syntaxErr(s.Name, "schema name %q is not a valid identifier", s.Name)
	}
	if s.Version != "" && !isVersion(s.Version) {
		return nil, syntaxErr(s.Version, "schema version %q is not in the form x.y.z", s.Version)
	}
	tm, ok := tables.(map[string]any)
	if !ok {
		return nil, syntaxErr(tables, "schema: tables is not an object")
	}
	anyRoot := false
	for name, tv := range tm {
		if !isID(name) || name[0] == '_' {
			return nil, syntaxErr(name, "table name %q is not a valid identifier or is reserved", name)
		}
		ts, err := tableFromJSON(name, tv)
		if err != nil {
			return nil, err
		}
		anyRoot = anyRoot || ts.explicitRoot
		s.Tables[name] = ts
		s.TableNames = append(s.TableNames, name)
	}
	sort.Strings(s.TableNames)
	for _, ts := range s.Tables {
		if !anyRoot {
			ts.IsRoot = true
		}
		for _, c := range ts.Columns {
			for _, bt := range []*BaseType{&c.Type.Key, &c.Type.Value} {
				if bt.RefTable == "" {
					continue
				}
				ref := s.Tables[bt.RefTable]
				if ref == nil {
					return nil, syntaxErr(bt.RefTable, "column %s in table %s refers to undefined table %s",
						c.Name, ts.Name, bt.RefTable)
				}
				bt.Ref = ref
				ts.hasRefs = true
				if bt.RefType == RefWeak {
					ts.hasWeakRefs = true
					c.Mutable = true // Open vSwitch forces weak reference columns mutable
				}
			}
		}
	}
	return s, nil
}

func tableFromJSON(name string, v any) (*TableSchema, *Error) {
	p, e := newObjParser(v, "table "+name)
	if e != nil {
		return nil, e
	}
	cols := p.get("columns", true)
	maxRows := p.get("maxRows", false)
	isRoot := p.get("isRoot", false)
	indexes := p.get("indexes", false)
	if e := p.finish(); e != nil {
		return nil, e
	}
	ts := &TableSchema{Name: name, ColumnMap: map[string]*ColumnSchema{}}
	if maxRows != nil {
		n, ok := jsonInt(maxRows)
		if !ok || n < 1 {
			return nil, syntaxErr(maxRows, "table %s: maxRows must be at least 1", name)
		}
		ts.MaxRows = int(min(n, math.MaxInt32))
	}
	if isRoot != nil {
		b, ok := isRoot.(bool)
		if !ok {
			return nil, syntaxErr(isRoot, "table %s: isRoot is not a boolean", name)
		}
		ts.IsRoot, ts.explicitRoot = b, b
	}
	cm, ok := cols.(map[string]any)
	if !ok || len(cm) == 0 {
		return nil, syntaxErr(cols, "table %s: columns must be a non-empty object", name)
	}
	uuidType := Type{Key: newBaseType(TypeUUID), Min: 1, Max: 1}
	ts.Columns = []*ColumnSchema{
		{Name: "_uuid", Index: 0, Type: uuidType, hidden: true},
		{Name: "_version", Index: 1, Type: uuidType, Ephemeral: true, hidden: true},
	}
	names := make([]string, 0, len(cm))
	for cn := range cm {
		if !isID(cn) || cn[0] == '_' {
			return nil, syntaxErr(cn, "table %s: column name %q is not a valid identifier or is reserved", name, cn)
		}
		names = append(names, cn)
	}
	sort.Strings(names)
	for _, cn := range names {
		c, err := columnFromJSON(name, cn, cm[cn])
		if err != nil {
			return nil, err
		}
		c.Index = len(ts.Columns)
		ts.Columns = append(ts.Columns, c)
	}
	ts.defaults = make([]*Datum, len(ts.Columns))
	for i, c := range ts.Columns {
		ts.ColumnMap[c.Name] = c
		if i >= 2 {
			d := DefaultDatum(&c.Type)
			ts.defaults[i] = &d
			if defaultError(c, &d) != nil {
				ts.badDefaults = append(ts.badDefaults, c)
			}
		}
	}
	if indexes != nil {
		arr, ok := indexes.([]any)
		if !ok {
			return nil, syntaxErr(indexes, "table %s: indexes is not an array", name)
		}
		for _, iv := range arr {
			ia, ok := iv.([]any)
			if !ok || len(ia) == 0 {
				return nil, syntaxErr(iv, "table %s: index must be a non-empty array of column names", name)
			}
			var idx []*ColumnSchema
			for _, cv := range ia {
				cn, _ := cv.(string)
				c := ts.ColumnMap[cn]
				if c == nil {
					return nil, syntaxErr(cv, "table %s: index refers to unknown column", name)
				}
				if c.Ephemeral {
					return nil, syntaxErr(cv, "ephemeral columns (such as %s) may not be indexed", cn)
				}
				idx = append(idx, c)
			}
			ts.Indexes = append(ts.Indexes, idx)
		}
	}
	return ts, nil
}

func columnFromJSON(table, name string, v any) (*ColumnSchema, *Error) {
	p, e := newObjParser(v, "column "+table+"."+name)
	if e != nil {
		return nil, e
	}
	tv := p.get("type", true)
	eph := p.get("ephemeral", false)
	mut := p.get("mutable", false)
	if e := p.finish(); e != nil {
		return nil, e
	}
	c := &ColumnSchema{Name: name, Mutable: true}
	if eph != nil {
		b, ok := eph.(bool)
		if !ok {
			return nil, syntaxErr(eph, "column %s: ephemeral is not a boolean", name)
		}
		c.Ephemeral = b
	}
	if mut != nil {
		b, ok := mut.(bool)
		if !ok {
			return nil, syntaxErr(mut, "column %s: mutable is not a boolean", name)
		}
		c.Mutable = b
	}
	t, err := typeFromJSON(tv)
	if err != nil {
		return nil, err
	}
	c.Type = t
	return c, nil
}

func typeFromJSON(v any) (Type, *Error) {
	if s, ok := v.(string); ok {
		bt, err := baseTypeFromJSON(s)
		return Type{Key: bt, Min: 1, Max: 1}, err
	}
	p, e := newObjParser(v, "type")
	if e != nil {
		return Type{}, e
	}
	kv := p.get("key", true)
	vv := p.get("value", false)
	minv := p.get("min", false)
	maxv := p.get("max", false)
	if e := p.finish(); e != nil {
		if _, isObj := v.(map[string]any); isObj && p.obj["type"] != nil && p.obj["key"] == nil {
			// A constrained scalar: the base type object itself.
			bt, err := baseTypeFromJSON(v)
			return Type{Key: bt, Min: 1, Max: 1}, err
		}
		return Type{}, e
	}
	t := Type{Min: 1, Max: 1}
	var err *Error
	if t.Key, err = baseTypeFromJSON(kv); err != nil {
		return t, err
	}
	if vv != nil {
		if t.Value, err = baseTypeFromJSON(vv); err != nil {
			return t, err
		}
	}
	if minv != nil {
		n, ok := jsonInt(minv)
		if !ok || n < 0 || n > 1 {
			return t, syntaxErr(minv, "min must be 0 or 1")
		}
		t.Min = int(n)
	}
	if maxv != nil {
		if s, ok := maxv.(string); ok && s == "unlimited" {
			t.Max = Unlimited
		} else {
			n, ok := jsonInt(maxv)
			if !ok || n < 1 {
				return t, syntaxErr(maxv, "max must be at least 1 or \"unlimited\"")
			}
			t.Max = int(min(n, math.MaxInt32))
		}
	}
	if t.Min > t.Max {
		return t, syntaxErr(v, "ovsdb type fails constraint checks")
	}
	return t, nil
}

func baseTypeFromJSON(v any) (BaseType, *Error) {
	if s, ok := v.(string); ok {
		at, ok := parseAtomicType(s)
		if !ok {
			return BaseType{}, syntaxErr(v, "unknown atomic type %q", s)
		}
		return newBaseType(at), nil
	}
	p, e := newObjParser(v, "base type")
	if e != nil {
		return BaseType{}, e
	}
	ts, _ := p.str("type", true)
	if p.err != nil {
		return BaseType{}, p.err
	}
	at, ok := parseAtomicType(ts)
	if !ok {
		return BaseType{}, syntaxErr(v, "unknown atomic type %q", ts)
	}
	bt := newBaseType(at)
	switch at {
	case TypeInteger:
		if x := p.get("minInteger", false); x != nil {
			n, ok := jsonInt(x)
			if !ok {
				return bt, syntaxErr(x, "minInteger is not an integer")
			}
			bt.MinInteger = n
		}
		if x := p.get("maxInteger", false); x != nil {
			n, ok := jsonInt(x)
			if !ok {
				return bt, syntaxErr(x, "maxInteger is not an integer")
			}
			bt.MaxInteger = n
		}
		if bt.MinInteger > bt.MaxInteger {
			return bt, syntaxErr(v, "minInteger exceeds maxInteger")
		}
	case TypeReal:
		if x := p.get("minReal", false); x != nil {
			f, ok := jsonReal(x)
			if !ok {
				return bt, syntaxErr(x, "minReal is not a number")
			}
			bt.MinReal = f
		}
		if x := p.get("maxReal", false); x != nil {
			f, ok := jsonReal(x)
			if !ok {
				return bt, syntaxErr(x, "maxReal is not a number")
			}
			bt.MaxReal = f
		}
		if bt.MinReal > bt.MaxReal {
			return bt, syntaxErr(v, "minReal exceeds maxReal")
		}
	case TypeString:
		if x := p.get("minLength", false); x != nil {
			n, ok := jsonInt(x)
			if !ok || n < 0 {
				return bt, syntaxErr(x, "minLength is not a non-negative integer")
			}
			bt.MinLength = int(min(n, math.MaxUint32))
		}
		if x := p.get("maxLength", false); x != nil {
			n, ok := jsonInt(x)
			if !ok || n < 0 {
				return bt, syntaxErr(x, "maxLength is not a non-negative integer")
			}
			bt.MaxLength = int(min(n, math.MaxUint32))
		}
		if bt.MinLength > bt.MaxLength {
			return bt, syntaxErr(v, "minLength exceeds maxLength")
		}
	case TypeUUID:
		if rt, ok := p.str("refTable", false); ok {
			if !isID(rt) {
				return bt, syntaxErr(rt, "refTable is not a valid identifier")
			}
			bt.RefTable = rt
			if rs, ok := p.str("refType", false); ok {
				switch rs {
				case "strong":
				case "weak":
					bt.RefType = RefWeak
				default:
					return bt, syntaxErr(rs, "refType must be \"strong\" or \"weak\" (not \"%s\")", rs)
				}
			}
		}
	}
	if ev := p.get("enum", false); ev != nil {
		plain := bt
		et := Type{Key: plain, Min: 1, Max: Unlimited}
		d, err := DatumFromJSON(&et, ev, nil)
		if err != nil {
			return bt, err
		}
		bt.Enum = d.Keys
	}
	if e := p.finish(); e != nil {
		return bt, e
	}
	return bt, nil
}
