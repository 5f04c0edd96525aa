package vsctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Atom is one OVSDB atomic value. Uuids keep their canonical string form in
// S (named-uuids too, with Named set).
type Atom struct {
	T     AtomicType
	I     int64
	R     float64
	B     bool
	S     string
	Named bool
}

// Datum is an OVSDB value: a sorted set of keys, with values for maps.
type Datum struct {
	Keys   []Atom
	Values []Atom // nil unless map
}

func compareAtoms(a, b Atom) int {
	switch a.T {
	case TypeInteger:
		switch {
		case a.I < b.I:
			return -1
		case a.I > b.I:
			return 1
		}
		return 0
	case TypeReal:
		switch {
		case a.R < b.R:
			return -1
		case a.R > b.R:
			return 1
		}
		return 0
	case TypeBoolean:
		switch {
		case !a.B && b.B:
			return -1
		case a.B && !b.B:
			return 1
		}
		return 0
	}
	return strings.Compare(a.S, b.S)
}

// Clone returns a deep copy of d.
func (d *Datum) Clone() *Datum {
	n := &Datum{Keys: append([]Atom(nil), d.Keys...)}
	if d.Values != nil {
		n.Values = append([]Atom{}, d.Values...)
	}
	return n
}

// Len returns the number of elements.
func (d *Datum) Len() int { return len(d.Keys) }

// Equal reports semantic equality.
func (d *Datum) Equal(o *Datum) bool {
	if len(d.Keys) != len(o.Keys) {
		return false
	}
	for i := range d.Keys {
		if compareAtoms(d.Keys[i], o.Keys[i]) != 0 {
			return false
		}
		if d.Values != nil && (o.Values == nil || compareAtoms(d.Values[i], o.Values[i]) != 0) {
			return false
		}
	}
	return true
}

// Find returns the index of key or -1.
func (d *Datum) Find(key Atom) int {
	i := sort.Search(len(d.Keys), func(i int) bool { return compareAtoms(d.Keys[i], key) >= 0 })
	if i < len(d.Keys) && compareAtoms(d.Keys[i], key) == 0 {
		return i
	}
	return -1
}

type datumSorter struct{ d *Datum }

func (s datumSorter) Len() int           { return len(s.d.Keys) }
func (s datumSorter) Less(i, j int) bool { return compareAtoms(s.d.Keys[i], s.d.Keys[j]) < 0 }
func (s datumSorter) Swap(i, j int) {
	s.d.Keys[i], s.d.Keys[j] = s.d.Keys[j], s.d.Keys[i]
	if s.d.Values != nil {
		s.d.Values[i], s.d.Values[j] = s.d.Values[j], s.d.Values[i]
	}
}

// sortDatum sorts keys and reports whether there was a duplicate key.
func (d *Datum) sortDatum() (dup bool) {
	sort.Stable(datumSorter{d})
	for i := 1; i < len(d.Keys); i++ {
		if compareAtoms(d.Keys[i-1], d.Keys[i]) == 0 {
			return true
		}
	}
	return false
}

// Add inserts key (and value for maps); an existing key keeps its value
// unless replace.
func (d *Datum) Add(k, v Atom, isMap, replace bool) {
	if i := d.Find(k); i >= 0 {
		if isMap && replace {
			d.Values[i] = v
		}
		return
	}
	i := sort.Search(len(d.Keys), func(i int) bool { return compareAtoms(d.Keys[i], k) >= 0 })
	d.Keys = append(d.Keys, Atom{})
	copy(d.Keys[i+1:], d.Keys[i:])
	d.Keys[i] = k
	if isMap {
		if d.Values == nil {
			d.Values = []Atom{}
		}
		d.Values = append(d.Values, Atom{})
		copy(d.Values[i+1:], d.Values[i:])
		d.Values[i] = v
	}
}

// RemoveAt removes element i.
func (d *Datum) RemoveAt(i int) {
	d.Keys = append(d.Keys[:i], d.Keys[i+1:]...)
	if d.Values != nil {
		d.Values = append(d.Values[:i], d.Values[i+1:]...)
	}
}

// DefaultDatum is the default value of a column type.
func DefaultDatum(t *ColType) *Datum {
	d := &Datum{}
	if t.IsMap() {
		d.Values = []Atom{}
	}
	if t.Min == 1 {
		k := defaultAtom(&t.Key)
		d.Keys = []Atom{k}
		if t.IsMap() {
			d.Values = []Atom{defaultAtom(&t.Value)}
		}
	}
	return d
}

func defaultAtom(b *BaseType) Atom {
	a := Atom{T: b.Type}
	if b.Type == TypeUUID {
		a.S = "00000000-0000-0000-0000-000000000000"
	}
	if len(b.Enum) > 0 {
		return b.Enum[0]
	}
	return a
}

// IsDefault reports whether d is the default for t.
func (d *Datum) IsDefault(t *ColType) bool { return d.Equal(DefaultDatum(t)) }

// ---- JSON wire format ----

func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// DatumFromJSON parses the RFC 7047 notation of a value of type t.
func DatumFromJSON(raw json.RawMessage, t *ColType) (*Datum, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	return datumFromValue(v, t)
}

var errBadDatum = errors.New("bad datum")

func datumFromValue(v any, t *ColType) (*Datum, error) {
	d := &Datum{}
	if t.IsMap() {
		d.Values = []Atom{}
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 || arr[0] != "map" {
			return nil, errBadDatum
		}
		pairs, ok := arr[1].([]any)
		if !ok {
			return nil, errBadDatum
		}
		for _, p := range pairs {
			pa, ok := p.([]any)
			if !ok || len(pa) != 2 {
				return nil, errBadDatum
			}
			k, err := atomFromValue(pa[0], &t.Key)
			if err != nil {
				return nil, err
			}
			val, err := atomFromValue(pa[1], &t.Value)
			if err != nil {
				return nil, err
			}
			d.Keys = append(d.Keys, k)
			d.Values = append(d.Values, val)
		}
	} else if arr, ok := v.([]any); ok && len(arr) == 2 && arr[0] == "set" {
		elems, ok := arr[1].([]any)
		if !ok {
			return nil, errBadDatum
		}
		for _, e := range elems {
			k, err := atomFromValue(e, &t.Key)
			if err != nil {
				return nil, err
			}
			d.Keys = append(d.Keys, k)
		}
	} else {
		k, err := atomFromValue(v, &t.Key)
		if err != nil {
			return nil, err
		}
		d.Keys = []Atom{k}
	}
	if d.sortDatum() {
		return nil, errBadDatum
	}
	return d, nil
}

func atomFromValue(v any, b *BaseType) (Atom, error) {
	a := Atom{T: b.Type}
	switch b.Type {
	case TypeInteger:
		n, ok := v.(json.Number)
		if !ok {
			return a, errBadDatum
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return a, errBadDatum
		}
		a.I = i
	case TypeReal:
		n, ok := v.(json.Number)
		if !ok {
			return a, errBadDatum
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return a, errBadDatum
		}
		a.R = f
	case TypeBoolean:
		bv, ok := v.(bool)
		if !ok {
			return a, errBadDatum
		}
		a.B = bv
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return a, errBadDatum
		}
		a.S = s
	case TypeUUID:
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			return a, errBadDatum
		}
		s, ok := arr[1].(string)
		if !ok || (arr[0] != "uuid" && arr[0] != "named-uuid") {
			return a, errBadDatum
		}
		a.S, a.Named = s, arr[0] == "named-uuid"
	default:
		return a, errBadDatum
	}
	return a, nil
}

// ---- output renderings ----

func writeAtomJSON(b *bytes.Buffer, a Atom, named func(string) string) {
	switch a.T {
	case TypeInteger:
		b.WriteString(strconv.FormatInt(a.I, 10))
	case TypeReal:
		b.WriteString(formatReal(a.R))
	case TypeBoolean:
		b.WriteString(strconv.FormatBool(a.B))
	case TypeString:
		writeJSONString(b, a.S)
	case TypeUUID:
		if n := named(a.S); n != "" {
			b.WriteString(`["named-uuid",`)
			writeJSONString(b, n)
		} else {
			b.WriteString(`["uuid",`)
			writeJSONString(b, a.S)
		}
		b.WriteByte(']')
	}
}

func noNamed(string) string { return "" }

// AppendJSON writes d in RFC 7047 notation; named maps uuids of rows being
// inserted to their uuid-names.
func (d *Datum) AppendJSON(b *bytes.Buffer, t *ColType, named func(string) string) {
	if named == nil {
		named = noNamed
	}
	if t.IsMap() {
		b.WriteString(`["map",[`)
		for i := range d.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			writeAtomJSON(b, d.Keys[i], named)
			b.WriteByte(',')
			writeAtomJSON(b, d.Values[i], named)
			b.WriteByte(']')
		}
		b.WriteString("]]")
		return
	}
	if len(d.Keys) == 1 {
		writeAtomJSON(b, d.Keys[0], named)
		return
	}
	b.WriteString(`["set",[`)
	for i := range d.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeAtomJSON(b, d.Keys[i], named)
	}
	b.WriteString("]]")
}

// JSON returns the RFC 7047 notation of d.
func (d *Datum) JSON(t *ColType) string {
	var b bytes.Buffer
	d.AppendJSON(&b, t, nil)
	return b.String()
}

func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'g', 17, 64)
	if g := strconv.FormatFloat(f, 'g', 15, 64); mustParse(g) == f {
		s = g
	}
	return s
}

func mustParse(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func stringNeedsQuotes(s string) bool {
	if s == "" || !(isAlpha(s[0]) || s[0] == '_') {
		return true
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' {
			return true
		}
	}
	if s == "true" || s == "false" || isUUID(s) {
		return true
	}
	return false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func writeAtomString(b *bytes.Buffer, a Atom) {
	switch a.T {
	case TypeString:
		if stringNeedsQuotes(a.S) {
			writeJSONString(b, a.S)
		} else {
			b.WriteString(a.S)
		}
	default:
		writeAtomBare(b, a)
	}
}

func writeAtomBare(b *bytes.Buffer, a Atom) {
	switch a.T {
	case TypeInteger:
		b.WriteString(strconv.FormatInt(a.I, 10))
	case TypeReal:
		b.WriteString(formatReal(a.R))
	case TypeBoolean:
		b.WriteString(strconv.FormatBool(a.B))
	default:
		b.WriteString(a.S)
	}
}

// String renders d the way ovs-vsctl prints values ("string" data format).
func (d *Datum) String(t *ColType) string {
	var b bytes.Buffer
	isMap := t.IsMap()
	brackets := t.Max > 1 || len(d.Keys) == 0
	if brackets {
		if isMap {
			b.WriteByte('{')
		} else {
			b.WriteByte('[')
		}
	}
	for i := range d.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writeAtomString(&b, d.Keys[i])
		if isMap {
			b.WriteByte('=')
			writeAtomString(&b, d.Values[i])
		}
	}
	if brackets {
		if isMap {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	}
	return b.String()
}

// Bare renders d without quotes or brackets ("bare" data format).
func (d *Datum) Bare(t *ColType) string {
	var b bytes.Buffer
	for i := range d.Keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeAtomBare(&b, d.Keys[i])
		if t.IsMap() {
			b.WriteByte('=')
			writeAtomBare(&b, d.Values[i])
		}
	}
	return b.String()
}

// AtomString renders one atom in "string" format.
func AtomString(a Atom) string {
	var b bytes.Buffer
	writeAtomString(&b, a)
	return b.String()
}

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

func sortStrings(s []string) { sort.Strings(s) }

func toString(v any) string {
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	return fmt.Sprint(v)
}
