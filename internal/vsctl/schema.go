package vsctl

import (
	"encoding/json"
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

type jsonBase struct {
	Type       string          `json:"type"`
	Enum       json.RawMessage `json:"enum"`
	MinInteger *int64          `json:"minInteger"`
	MaxInteger *int64          `json:"maxInteger"`
	MinReal    *float64        `json:"minReal"`
	MaxReal    *float64        `json:"maxReal"`
	MinLength  *int            `json:"minLength"`
	MaxLength  *int            `json:"maxLength"`
	RefTable   string          `json:"refTable"`
	RefType    string          `json:"refType"`
}

type jsonType struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
	Min   *int            `json:"min"`
	Max   json.RawMessage `json:"max"`
}

type jsonColumn struct {
	Type      json.RawMessage `json:"type"`
	Mutable   *bool           `json:"mutable"`
	Ephemeral bool            `json:"ephemeral"`
}

type jsonTable struct {
	Columns map[string]jsonColumn `json:"columns"`
	IsRoot  bool                  `json:"isRoot"`
	MaxRows int                   `json:"maxRows"`
	Indexes [][]string            `json:"indexes"`
}

type jsonSchema struct {
	Name    string               `json:"name"`
	Version string               `json:"version"`
	Tables  map[string]jsonTable `json:"tables"`
}

// ParseSchema parses an OVSDB schema in JSON.
func ParseSchema(data []byte) (*Schema, error) {
	var js jsonSchema
	if err := json.Unmarshal(data, &js); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	s := &Schema{Name: js.Name, Version: js.Version, Tables: map[string]*Table{}}
	anyRoot := false
	for _, jt := range js.Tables {
		if jt.IsRoot {
			anyRoot = true
		}
	}
	for name, jt := range js.Tables {
		t := &Table{Name: name, Columns: map[string]*Column{}, IsRoot: jt.IsRoot || !anyRoot,
			MaxRows: jt.MaxRows, Indexes: jt.Indexes}
		for cname, jc := range jt.Columns {
			ct, err := parseColType(jc.Type)
			if err != nil {
				return nil, fmt.Errorf("table %s column %s: %w", name, cname, err)
			}
			c := &Column{Name: cname, Type: ct, Mutable: jc.Mutable == nil || *jc.Mutable, Ephemeral: jc.Ephemeral}
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

func parseBase(raw json.RawMessage) (BaseType, error) {
	var b BaseType
	if len(raw) == 0 {
		return b, nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		t, err := atomicType(name)
		b.Type = t
		b.setDefaults()
		return b, err
	}
	var jb jsonBase
	if err := json.Unmarshal(raw, &jb); err != nil {
		return b, err
	}
	t, err := atomicType(jb.Type)
	if err != nil {
		return b, err
	}
	b.Type = t
	b.setDefaults()
	if jb.MinInteger != nil {
		b.MinInt, b.hasMinInt = *jb.MinInteger, true
	}
	if jb.MaxInteger != nil {
		b.MaxInt, b.hasMaxInt = *jb.MaxInteger, true
	}
	if jb.MinReal != nil {
		b.MinReal, b.hasMinReal = *jb.MinReal, true
	}
	if jb.MaxReal != nil {
		b.MaxReal, b.hasMaxReal = *jb.MaxReal, true
	}
	if jb.MinLength != nil {
		b.MinLen = *jb.MinLength
	}
	if jb.MaxLength != nil {
		b.MaxLen = *jb.MaxLength
	}
	b.RefTable = jb.RefTable
	b.RefWeak = jb.RefType == "weak"
	if len(jb.Enum) > 0 {
		d, err := DatumFromJSON(jb.Enum, &ColType{Key: BaseType{Type: t}, Max: math.MaxInt})
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

func parseColType(raw json.RawMessage) (ColType, error) {
	var t ColType
	var name string
	if json.Unmarshal(raw, &name) == nil {
		k, err := parseBase(raw)
		return ColType{Key: k, Min: 1, Max: 1}, err
	}
	var jt jsonType
	if err := json.Unmarshal(raw, &jt); err != nil {
		return t, err
	}
	var err error
	if t.Key, err = parseBase(jt.Key); err != nil {
		return t, err
	}
	if t.Value, err = parseBase(jt.Value); err != nil {
		return t, err
	}
	t.Min, t.Max = 1, 1
	if jt.Min != nil {
		t.Min = *jt.Min
	}
	if len(jt.Max) > 0 {
		var n int
		if json.Unmarshal(jt.Max, &n) == nil {
			t.Max = n
		} else {
			t.Max = math.MaxInt
		}
	}
	return t, nil
}
