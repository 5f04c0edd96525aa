package ovsdb

import (
	"math"
	"strconv"
)

// AppendJSON appends the schema in Open vSwitch's JSON form (the form
// get_schema returns): members are emitted only when they differ from their
// defaults, exactly as ovsdb-server does.
func (s *Schema) AppendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, s.Name)
	if s.Version != "" {
		b = append(b, `,"version":`...)
		b = appendString(b, s.Version)
	}
	if s.Cksum != "" {
		b = append(b, `,"cksum":`...)
		b = appendString(b, s.Cksum)
	}
	allRoot := true
	for _, ts := range s.Tables {
		allRoot = allRoot && ts.IsRoot
	}
	b = append(b, `,"tables":{`...)
	for i, name := range s.TableNames {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = s.Tables[name].appendJSON(b, allRoot)
	}
	return append(b, "}}"...)
}

// MarshalJSON implements json.Marshaler.
func (s *Schema) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

func (ts *TableSchema) appendJSON(b []byte, defaultRoot bool) []byte {
	b = append(b, `{"columns":{`...)
	for i, c := range ts.UserColumns() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Name)
		b = append(b, `:{"type":`...)
		b = c.Type.appendJSON(b)
		if c.Ephemeral {
			b = append(b, `,"ephemeral":true`...)
		}
		if !c.Mutable {
			b = append(b, `,"mutable":false`...)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if ts.MaxRows > 0 {
		b = append(b, `,"maxRows":`...)
		b = strconv.AppendInt(b, int64(ts.MaxRows), 10)
	}
	if ts.IsRoot != defaultRoot {
		b = append(b, `,"isRoot":`...)
		b = strconv.AppendBool(b, ts.IsRoot)
	}
	if len(ts.Indexes) > 0 {
		b = append(b, `,"indexes":[`...)
		for i, idx := range ts.Indexes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for j, c := range idx {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, c.Name)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (t *Type) appendJSON(b []byte) []byte {
	if t.IsScalar() && !t.Key.hasConstraints() {
		return t.Key.appendJSON(b)
	}
	b = append(b, `{"key":`...)
	b = t.Key.appendJSON(b)
	if t.IsMap() {
		b = append(b, `,"value":`...)
		b = t.Value.appendJSON(b)
	}
	if t.Min != 1 {
		b = append(b, `,"min":`...)
		b = strconv.AppendInt(b, int64(t.Min), 10)
	}
	if t.Max == Unlimited {
		b = append(b, `,"max":"unlimited"`...)
	} else if t.Max != 1 {
		b = append(b, `,"max":`...)
		b = strconv.AppendInt(b, int64(t.Max), 10)
	}
	return append(b, '}')
}

func (bt *BaseType) appendJSON(b []byte) []byte {
	if !bt.hasConstraints() {
		return appendString(b, bt.Type.String())
	}
	b = append(b, `{"type":`...)
	b = appendString(b, bt.Type.String())
	if bt.Enum != nil {
		b = append(b, `,"enum":`...)
		et := Type{Key: BaseType{Type: bt.Type}, Min: 1, Max: Unlimited}
		d := Datum{Keys: bt.Enum}
		b = d.AppendJSON(b, &et)
	}
	switch bt.Type {
	case TypeInteger:
		if bt.MinInteger != math.MinInt64 {
			b = append(b, `,"minInteger":`...)
			b = strconv.AppendInt(b, bt.MinInteger, 10)
		}
		if bt.MaxInteger != math.MaxInt64 {
			b = append(b, `,"maxInteger":`...)
			b = strconv.AppendInt(b, bt.MaxInteger, 10)
		}
	case TypeReal:
		if bt.MinReal != -math.MaxFloat64 {
			b = append(b, `,"minReal":`...)
			b = appendReal(b, bt.MinReal)
		}
		if bt.MaxReal != math.MaxFloat64 {
			b = append(b, `,"maxReal":`...)
			b = appendReal(b, bt.MaxReal)
		}
	case TypeString:
		if bt.MinLength != 0 {
			b = append(b, `,"minLength":`...)
			b = strconv.AppendInt(b, int64(bt.MinLength), 10)
		}
		if bt.MaxLength != math.MaxUint32 {
			b = append(b, `,"maxLength":`...)
			b = strconv.AppendInt(b, int64(bt.MaxLength), 10)
		}
	case TypeUUID:
		if bt.RefTable != "" {
			b = append(b, `,"refTable":`...)
			b = appendString(b, bt.RefTable)
			if bt.RefType == RefWeak {
				b = append(b, `,"refType":"weak"`...)
			}
		}
	}
	return append(b, '}')
}

// ServerSchemaJSON is the schema of the _Server database as Open vSwitch 3.1
// defines it (version 1.2.0).
const ServerSchemaJSON = `{"name":"_Server","version":"1.2.0","cksum":"3009684573 744",` +
	`"tables":{"Database":{"isRoot":true,"columns":{` +
	`"name":{"type":"string"},` +
	`"model":{"type":{"key":{"type":"string","enum":["set",["standalone","clustered","relay"]]}}},` +
	`"connected":{"type":"boolean"},` +
	`"leader":{"type":"boolean"},` +
	`"schema":{"type":{"key":{"type":"string"},"min":0,"max":1}},` +
	`"cid":{"type":{"key":{"type":"uuid"},"min":0,"max":1}},` +
	`"sid":{"type":{"key":{"type":"uuid"},"min":0,"max":1}},` +
	`"index":{"type":{"key":{"type":"integer"},"min":0,"max":1}}}}}}`

// ServerSchema returns a freshly parsed _Server schema.
func ServerSchema() *Schema {
	s, err := ParseSchema([]byte(ServerSchemaJSON))
	if err != nil {
		panic("ovsdb: built-in _Server schema: " + err.Error()) // a constant: cannot fail at run time
	}
	return s
}
