package vsctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// AtomicType is an OVSDB atomic type.
type AtomicType int

// The OVSDB atomic types.
const (
	TypeVoid AtomicType = iota
	TypeInteger
	TypeReal
	TypeBoolean
	TypeString
	TypeUUID
)

func (t AtomicType) String() string {
	switch t {
	case TypeInteger:
		return "integer"
	case TypeReal:
		return "real"
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeUUID:
		return "uuid"
	}
	return "void"
}

// BaseType is an atomic type with its constraints.
type BaseType struct {
	Type       AtomicType
	Enum       []Atom // sorted; nil when unconstrained
	MinInt     int64
	MaxInt     int64
	MinReal    float64
	MaxReal    float64
	MinLen     int
	MaxLen     int
	RefTable   string
	RefWeak    bool
	hasMinInt  bool
	hasMaxInt  bool
	hasMinReal bool
	hasMaxReal bool
}

// ColType is a column type: key, optional value, and element count bounds.
type ColType struct {
	Key   BaseType
	Value BaseType // Type == TypeVoid for sets and scalars
	Min   int
	Max   int // math.MaxInt for "unlimited"
}

// IsMap reports whether the type is a map.
func (t *ColType) IsMap() bool { return t.Value.Type != TypeVoid }

// IsScalar reports whether the type is exactly one atom.
func (t *ColType) IsScalar() bool { return t.Min == 1 && t.Max == 1 && !t.IsMap() }

// IsOptional reports whether the type is a 0..1 set.
func (t *ColType) IsOptional() bool { return t.Min == 0 && t.Max == 1 && !t.IsMap() }

// IsComposite reports whether the column holds more than one element.
func (t *ColType) IsComposite() bool { return t.Max > 1 }

// Column is a column of a table.
type Column struct {
	Name      string
	Type      ColType
	Mutable   bool
	Ephemeral bool
}

// Table is a table of the schema.
type Table struct {
	Name    string
	Columns map[string]*Column
	Sorted  []*Column // _uuid first, then the columns by name
	IsRoot  bool
	MaxRows int
	Indexes [][]string
}

// Schema is a parsed OVSDB database schema.
type Schema struct {
	Name    string
	Version string
	Tables  map[string]*Table
	Names   []string // table names, sorted
}

// ParseSchema parses an OVSDB schema in JSON. It decodes the document once
// into generic values and walks them (several json.Unmarshal passes over
// the 26 kB vswitch schema cost milliseconds at every start).
func ParseSchema(data []byte) (*Schema, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	js, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("parse schema: not an object")
	}
	s := &Schema{Tables: map[string]*Table{}}
	s.Name, _ = js["name"].(string)
	s.Version, _ = js["version"].(string)
	tables, _ := js["tables"].(map[string]any)
	anyRoot := false
	for _, jt := range tables {
		if m, ok := jt.(map[string]any); ok && m["isRoot"] == true {
			anyRoot = true
		}
	}
	for name, jtv := range tables {
		jt, ok := jtv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parse schema: table %s: not an object", name)
		}
		t := &Table{Name: name, Columns: map[string]*Column{}, IsRoot: jt["isRoot"] == true || !anyRoot}
		if n, ok := jt["maxRows"].(json.Number); ok {
			m, _ := n.Int64()
			t.MaxRows = int(m)
		}
		if idx, ok := jt["indexes"].([]any); ok {
			for _, ix := range idx {
				var cols []string
				if arr, ok := ix.([]any); ok {
					for _, c := range arr {
						if cs, ok := c.(string); ok {
							cols = append(cols, cs)
						}
					}
				}
				t.Indexes = append(t.Indexes, cols)
			}
		}
		jcols, _ := jt["columns"].(map[string]any)
		for cname, jcv := range jcols {
			jc, ok := jcv.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("table %s column %s: not an object", name, cname)
			}
			ct, err := parseColType(jc["type"])
			if err != nil {
				return nil, fmt.Errorf("table %s column %s: %w", name, cname, err)
			}
			c := &Column{Name: cname, Type: ct, Mutable: jc["mutable"] != false, Ephemeral: jc["ephemeral"] == true}
			if c.Type.Key.RefWeak || c.Type.Value.RefWeak {
				c.Mutable = true
			}
			t.Columns[cname] = c
		}
		uuidType := ColType{Key: BaseType{Type: TypeUUID}, Min: 1, Max: 1}
		t.Columns["_uuid"] = &Column{Name: "_uuid", Type: uuidType}
		t.Columns["_version"] = &Column{Name: "_version", Type: uuidType}
		for cname, c := range t.Columns {
			if cname != "_uuid" && cname != "_version" {
				t.Sorted = append(t.Sorted, c)
			}
		}
		sort.Slice(t.Sorted, func(i, j int) bool { return t.Sorted[i].Name < t.Sorted[j].Name })
		t.Sorted = append([]*Column{t.Columns["_uuid"]}, t.Sorted...)
		s.Tables[name] = t
		s.Names = append(s.Names, name)
	}
	sort.Strings(s.Names)
	return s, nil
}

func numInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func numReal(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func parseBase(v any) (BaseType, error) {
	var b BaseType
	if v == nil {
		return b, nil
	}
	if name, ok := v.(string); ok {
		t, err := atomicType(name)
		b.Type = t
		b.setDefaults()
		return b, err
	}
	jb, ok := v.(map[string]any)
	if !ok {
		return b, errors.New("bad base type")
	}
	name, _ := jb["type"].(string)
	t, err := atomicType(name)
	if err != nil {
		return b, err
	}
	b.Type = t
	b.setDefaults()
	if n, ok := numInt(jb["minInteger"]); ok {
		b.MinInt, b.hasMinInt = n, true
	}
	if n, ok := numInt(jb["maxInteger"]); ok {
		b.MaxInt, b.hasMaxInt = n, true
	}
	if f, ok := numReal(jb["minReal"]); ok {
		b.MinReal, b.hasMinReal = f, true
	}
	if f, ok := numReal(jb["maxReal"]); ok {
		b.MaxReal, b.hasMaxReal = f, true
	}
	if n, ok := numInt(jb["minLength"]); ok {
		b.MinLen = int(n)
	}
	if n, ok := numInt(jb["maxLength"]); ok {
		b.MaxLen = int(n)
	}
	b.RefTable, _ = jb["refTable"].(string)
	b.RefWeak = jb["refType"] == "weak"
	if e, ok := jb["enum"]; ok {
		d, err := datumFromValue(e, &ColType{Key: BaseType{Type: t}, Max: math.MaxInt})
		if err != nil {
			return b, fmt.Errorf("enum: %w", err)
		}
		b.Enum = d.Keys
	}
	return b, nil
}

func (b *BaseType) setDefaults() {
	b.MinInt, b.MaxInt = math.MinInt64, math.MaxInt64
	b.MinReal, b.MaxReal = -math.MaxFloat64, math.MaxFloat64
	b.MaxLen = math.MaxInt
}

func atomicType(s string) (AtomicType, error) {
	switch s {
	case "integer":
		return TypeInteger, nil
	case "real":
		return TypeReal, nil
	case "boolean":
		return TypeBoolean, nil
	case "string":
		return TypeString, nil
	case "uuid":
		return TypeUUID, nil
	}
	return TypeVoid, fmt.Errorf("unknown atomic type %q", s)
}

func parseColType(v any) (ColType, error) {
	var t ColType
	if _, ok := v.(string); ok {
		k, err := parseBase(v)
		return ColType{Key: k, Min: 1, Max: 1}, err
	}
	jt, ok := v.(map[string]any)
	if !ok {
		return t, errors.New("bad column type")
	}
	var err error
	if t.Key, err = parseBase(jt["key"]); err != nil {
		return t, err
	}
	if t.Value, err = parseBase(jt["value"]); err != nil {
		return t, err
	}
	t.Min, t.Max = 1, 1
	if n, ok := numInt(jt["min"]); ok {
		t.Min = int(n)
	}
	if m, ok := jt["max"]; ok {
		if n, ok := numInt(m); ok {
			t.Max = int(n)
		} else {
			t.Max = math.MaxInt
		}
	}
	return t, nil
}
