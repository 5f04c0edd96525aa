package ovsdb

import (
	"slices"
	"sort"
	"strings"
)

// Datum is a column value: a set of atoms (Keys) or a map (Keys with the
// parallel Values). It is always canonical: keys sorted ascending with no
// duplicates, so two equal datums have identical slices. Datums are treated
// as immutable once stored in a row.
//
// A large datum that a mutation changed by a few elements keeps them in
// shared chunks instead (bigdatum.go), with Keys and Values nil: code that
// indexes the elements of a datum from a row calls Flat first.
type Datum struct {
	Keys   []Atom
	Values []Atom // nil unless the column is a map

	big *bigDatum
}

// Len returns the number of elements.
func (d *Datum) Len() int {
	if d.big != nil {
		return d.big.n
	}
	return len(d.Keys)
}

// DefaultDatum returns the RFC 7047 default for t: empty unless t.Min is 1,
// then one default atom (or pair).
func DefaultDatum(t *Type) Datum {
	if t.Min == 0 {
		return Datum{}
	}
	d := Datum{Keys: []Atom{defaultAtom(t.Key.Type)}}
	if t.IsMap() {
		d.Values = []Atom{defaultAtom(t.Value.Type)}
	}
	return d
}

// IsDefault reports whether d equals t's default.
func (d *Datum) IsDefault(t *Type) bool {
	if t.Min == 0 {
		return d.Len() == 0
	}
	if d.Len() != 1 || d.Keys[0] != defaultAtom(t.Key.Type) {
		return false
	}
	return !t.IsMap() || d.Values[0] == defaultAtom(t.Value.Type)
}

// Equal reports whether two canonical datums are equal.
func (d *Datum) Equal(o *Datum) bool {
	if d == o {
		return true
	}
	if d.big != nil || o.big != nil {
		if d.Len() != o.Len() {
			return false
		}
		if d.big != nil && o.big != nil {
			d, o = middles(d.big, o.big)
		} else {
			d, o = d.Flat(), o.Flat()
		}
	}
	return slices.Equal(d.Keys, o.Keys) && slices.Equal(d.Values, o.Values)
}

// Find returns the index of key k, or -1. d must be flat (see Flat).
func (d *Datum) Find(t AtomicType, k Atom) int {
	i, found := sort.Find(len(d.Keys), func(i int) int { return compareAtoms(t, k, d.Keys[i]) })
	if found {
		return i
	}
	return -1
}

// Clone returns a deep copy of the slices, flat.
func (d Datum) Clone() Datum {
	if d.big != nil {
		return *d.Flat()
	}
	return Datum{Keys: slices.Clone(d.Keys), Values: slices.Clone(d.Values)}
}

// sortDatum sorts d in place and reports a duplicate key as an error.
func sortDatum(t *Type, d *Datum) *Error {
	kt := t.Key.Type
	// Most datums arrive in order (one element, or written by a client
	// that sorts): check before sorting, which allocates for maps.
	sorted := true
	for i := 1; i < len(d.Keys); i++ {
		c := compareAtoms(kt, d.Keys[i-1], d.Keys[i])
		if c == 0 {
			if d.Values == nil {
				return errorf(TagOVSDB, "set contains duplicate")
			}
			return errorf(TagOVSDB, "map contains duplicate key")
		}
		if c > 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return nil
	}
	if d.Values == nil {
		slices.SortFunc(d.Keys, func(a, b Atom) int { return compareAtoms(kt, a, b) })
		for i := 1; i < len(d.Keys); i++ {
			if d.Keys[i] == d.Keys[i-1] {
				return errorf(TagOVSDB, "set contains duplicate")
			}
		}
		return nil
	}
	idx := make([]int, len(d.Keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return compareAtoms(kt, d.Keys[idx[i]], d.Keys[idx[j]]) < 0 })
	keys := make([]Atom, len(idx))
	vals := make([]Atom, len(idx))
	for i, j := range idx {
		keys[i], vals[i] = d.Keys[j], d.Values[j]
		if i > 0 && keys[i] == keys[i-1] {
			return errorf(TagOVSDB, "map contains duplicate key")
		}
	}
	d.Keys, d.Values = keys, vals
	return nil
}

// DatumFromJSON parses a datum of type t (RFC 7047 <value>) from a value
// decoded by ParseJSON, checks atom constraints and the element count, and
// returns it in canonical order.
func DatumFromJSON(t *Type, v any, syms Symbols) (Datum, *Error) {
	// ovsdb-server checks the element count before the elements.
	n := 1
	if arr, ok := v.([]any); ok && len(arr) == 2 && (arr[0] == "set" || arr[0] == "map") {
		if elems, ok := arr[1].([]any); ok {
			n = len(elems)
		}
	}
	if err := countError(t, v, n); err != nil {
		return Datum{}, err
	}
	d, err := datumFromJSONLoose(t, v, syms, true)
	if err != nil {
		return d, err
	}
	return d, countError(t, v, len(d.Keys))
}

func countError(t *Type, v any, n int) *Error {
	if n < t.Min || n > t.Max {
		class := "set"
		if t.IsMap() {
			class = "map"
		}
		maxs := "unlimited"
		if t.Max != Unlimited {
			maxs = itoa(t.Max)
		}
		return syntaxErr(v, "%s must have %d to %s members but %d are present", class, t.Min, maxs, n)
	}
	return nil
}

func itoa(i int) string { return string(appendJSONValue(nil, i)) }

// datumFromJSONLoose parses without the count check; check selects whether
// atom constraints are enforced.
func datumFromJSONLoose(t *Type, v any, syms Symbols, check bool) (Datum, *Error) {
	parseAtom := func(bt *BaseType, x any) (Atom, *Error) {
		if check {
			return AtomFromJSON(bt, x, syms)
		}
		return atomFromJSONUnchecked(bt.Type, x, syms)
	}
	var d Datum
	if t.IsMap() {
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 || arr[0] != "map" {
			return d, syntaxErr(v, "expected [\"map\", [...]]")
		}
		pairs, ok := arr[1].([]any)
		if !ok {
			return d, syntaxErr(v, "map value is not an array")
		}
		kv := make([]Atom, 0, 2*len(pairs))
		d.Keys = kv[:0:len(pairs)]
		d.Values = kv[len(pairs):len(pairs)]
		for _, p := range pairs {
			pa, ok := p.([]any)
			if !ok || len(pa) != 2 {
				return d, syntaxErr(p, "map element is not a 2-element array")
			}
			k, err := parseAtom(&t.Key, pa[0])
			if err != nil {
				return d, err
			}
			val, err := parseAtom(&t.Value, pa[1])
			if err != nil {
				return d, err
			}
			d.Keys = append(d.Keys, k)
			d.Values = append(d.Values, val)
		}
	} else if arr, ok := v.([]any); ok && len(arr) == 2 && arr[0] == "set" {
		elems, ok := arr[1].([]any)
		if !ok {
			return d, syntaxErr(v, "set value is not an array")
		}
		d.Keys = make([]Atom, 0, len(elems))
		for _, e := range elems {
			k, err := parseAtom(&t.Key, e)
			if err != nil {
				return d, err
			}
			d.Keys = append(d.Keys, k)
		}
	} else {
		k, err := parseAtom(&t.Key, v)
		if err != nil {
			return d, err
		}
		d.Keys = []Atom{k}
	}
	if err := sortDatum(t, &d); err != nil {
		return d, err
	}
	return d, nil
}

// AppendJSON appends d in RFC 7047 notation: a map as ["map",[...]], a
// one-element set as the bare atom, other sets as ["set",[...]].
func (d *Datum) AppendJSON(b []byte, t *Type) []byte {
	if d.big == nil && len(d.Keys) == 1 && !t.IsMap() {
		return AppendAtomJSON(b, t.Key.Type, d.Keys[0])
	}
	if t.IsMap() {
		b = append(b, `["map",[`...)
	} else {
		b = append(b, `["set",[`...)
	}
	if d.big == nil {
		b = appendElemsJSON(b, t, d.Keys, d.Values, true)
	} else {
		for i, c := range d.big.chunks {
			b = appendElemsJSON(b, t, c.keys, c.vals, i == 0)
		}
	}
	return append(b, "]]"...)
}

// appendElemsJSON appends set elements or map pairs, comma-separated
// (with a leading comma unless first).
func appendElemsJSON(b []byte, t *Type, keys, vals []Atom, first bool) []byte {
	isMap := t.IsMap()
	for i, k := range keys {
		if i > 0 || !first {
			b = append(b, ',')
		}
		if !isMap {
			b = AppendAtomJSON(b, t.Key.Type, k)
			continue
		}
		b = append(b, '[')
		b = AppendAtomJSON(b, t.Key.Type, k)
		b = append(b, ',')
		b = AppendAtomJSON(b, t.Value.Type, vals[i])
		b = append(b, ']')
	}
	return b
}

// Diff returns the update2-style difference from old to new for type t:
// for composite types (max > 1) the symmetric difference (for maps: removed
// pairs, added pairs, and changed keys with their new values); otherwise
// simply new.
func Diff(t *Type, old, new *Datum) Datum {
	if !t.IsComposite() {
		return *new
	}
	if old.big != nil && new.big != nil {
		old, new = middles(old.big, new.big)
	} else {
		old, new = old.Flat(), new.Flat()
	}
	kt := t.Key.Type
	isMap := t.IsMap()
	var d Datum
	i, j := 0, 0
	for i < len(old.Keys) || j < len(new.Keys) {
		var c int
		switch {
		case i == len(old.Keys):
			c = 1
		case j == len(new.Keys):
			c = -1
		case old.Keys[i] == new.Keys[j]: // the common case, without ordering
		default:
			c = compareAtoms(kt, old.Keys[i], new.Keys[j])
		}
		switch {
		case c < 0:
			d.Keys = append(d.Keys, old.Keys[i])
			if isMap {
				d.Values = append(d.Values, old.Values[i])
			}
			i++
		case c > 0:
			d.Keys = append(d.Keys, new.Keys[j])
			if isMap {
				d.Values = append(d.Values, new.Values[j])
			}
			j++
		default:
			if isMap && old.Values[i] != new.Values[j] {
				d.Keys = append(d.Keys, new.Keys[j])
				d.Values = append(d.Values, new.Values[j])
			}
			i++
			j++
		}
	}
	if isMap && d.Values == nil {
		d.Values = []Atom{}
	}
	return d
}

// ApplyDiff applies a diff made by Diff to old and returns the new datum.
func ApplyDiff(t *Type, old, diff *Datum) Datum {
	if !t.IsComposite() {
		return *diff
	}
	old = old.Flat()
	kt := t.Key.Type
	isMap := t.IsMap()
	var d Datum
	if isMap {
		d.Values = make([]Atom, 0, len(old.Keys)+len(diff.Keys))
	}
	d.Keys = make([]Atom, 0, len(old.Keys)+len(diff.Keys))
	i, j := 0, 0
	for i < len(old.Keys) || j < len(diff.Keys) {
		var c int
		switch {
		case i == len(old.Keys):
			c = 1
		case j == len(diff.Keys):
			c = -1
		default:
			c = compareAtoms(kt, old.Keys[i], diff.Keys[j])
		}
		switch {
		case c < 0:
			d.Keys = append(d.Keys, old.Keys[i])
			if isMap {
				d.Values = append(d.Values, old.Values[i])
			}
			i++
		case c > 0:
			d.Keys = append(d.Keys, diff.Keys[j])
			if isMap {
				d.Values = append(d.Values, diff.Values[j])
			}
			j++
		default:
			// Present in both: a set element or identical pair is removed;
			// a map key with a different value takes the new value.
			if isMap && old.Values[i] != diff.Values[j] {
				d.Keys = append(d.Keys, diff.Keys[j])
				d.Values = append(d.Values, diff.Values[j])
			}
			i++
			j++
		}
	}
	return d
}

// DiffType returns the type a diff of t is parsed with: any element count.
func DiffType(t *Type) *Type {
	dt := *t
	dt.Min = 0
	if t.IsComposite() {
		dt.Max = Unlimited
	}
	return &dt
}

// String renders d as ovs-vsctl and Open vSwitch's messages do: "[a, b]",
// "{k=v}", a bare atom for a one-element scalar or optional.
func (d *Datum) String(t *Type) string {
	d = d.Flat()
	var sb strings.Builder
	brackets := t.Max > 1 || len(d.Keys) == 0
	open, close := "[", "]"
	if t.IsMap() {
		open, close = "{", "}"
	}
	if brackets {
		sb.WriteString(open)
	}
	for i, k := range d.Keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(AtomString(t.Key.Type, k))
		if t.IsMap() {
			sb.WriteByte('=')
			sb.WriteString(AtomString(t.Value.Type, d.Values[i]))
		}
	}
	if brackets {
		sb.WriteString(close)
	}
	return sb.String()
}
