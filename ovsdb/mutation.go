package ovsdb

import (
	"math"
	"slices"
)

// Mutator is a mutation operator (RFC 7047 section 5.1).
type Mutator uint8

// The mutators.
const (
	MutAdd Mutator = iota
	MutSub
	MutMul
	MutDiv
	MutMod
	MutInsert
	MutDelete
)

var mutatorNames = map[string]Mutator{"+=": MutAdd, "-=": MutSub, "*=": MutMul, "/=": MutDiv, "%=": MutMod,
	"insert": MutInsert, "delete": MutDelete}

// Mutation is one parsed <mutation>.
type Mutation struct {
	Column *ColumnSchema
	Op     Mutator
	Name   string
	Arg    Datum
	argMap bool // delete with a map argument (pairs) rather than keys
}

func parseMutations(ts *TableSchema, v any, syms Symbols) ([]Mutation, *Error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, syntaxErr(v, "array of mutations expected")
	}
	muts := make([]Mutation, 0, len(arr))
	for _, mv := range arr {
		ma, ok := mv.([]any)
		if !ok || len(ma) != 3 {
			return nil, syntaxErr(mv, "Parse error in mutation.")
		}
		cn, _ := ma[0].(string)
		c := ts.ColumnMap[cn]
		if c == nil {
			e := syntaxErr(mv, "No column %s in table %s.", cn, ts.Name)
			e.Tag = TagUnknownColumn
			return nil, e
		}
		if c.hidden || !c.Mutable {
			e := errorf(TagConstraint, "Cannot mutate immutable column %s in table %s.", cn, ts.Name)
			e.Syntax = JSONString(mv)
			return nil, e
		}
		name, _ := ma[1].(string)
		op, ok := mutatorNames[name]
		if !ok {
			return nil, errorf("unknown mutator", "No mutator named %s.", name)
		}
		m := Mutation{Column: c, Op: op, Name: name}
		t := c.Type
		switch op {
		case MutAdd, MutSub, MutMul, MutDiv, MutMod:
			kt := t.Key.Type
			if t.IsMap() || (kt != TypeInteger && kt != TypeReal) || (op == MutMod && kt != TypeInteger) {
				return nil, syntaxErr(mv, "Type mismatch: \"%s\" operator may not be applied to column %s of type %s.",
					name, cn, typeString(&t))
			}
			a, err := atomFromJSONUnchecked(kt, ma[2], syms)
			if err != nil {
				return nil, err
			}
			m.Arg = Datum{Keys: []Atom{a}}
		case MutInsert, MutDelete:
			at := t
			at.Min, at.Max = 0, Unlimited
			var err *Error
			if op == MutDelete && t.IsMap() {
				// A map of pairs, or else (as ovsdb-server tries next) a
				// set of keys.
				m.Arg, err = DatumFromJSON(&at, ma[2], syms)
				if err == nil {
					m.argMap = true
				} else {
					kt := at
					kt.Value = BaseType{}
					m.Arg, err = DatumFromJSON(&kt, ma[2], syms)
				}
			} else {
				m.Arg, err = DatumFromJSON(&at, ma[2], syms)
			}
			if err != nil {
				return nil, err
			}
		}
		muts = append(muts, m)
	}
	return muts, nil
}

// apply mutates row r (a transaction's private copy) in place.
func (m *Mutation) apply(r *Row) *Error {
	c := m.Column
	t := &c.Type
	old := r.Data[c.Index]
	var nd Datum
	switch m.Op {
	case MutInsert:
		nd = mergeDatum(t, old, &m.Arg)
	case MutDelete:
		nd = subtractDatum(t, old, &m.Arg, m.argMap)
	default:
		old = old.Flat()
		nd = Datum{Keys: make([]Atom, len(old.Keys))}
		for i, k := range old.Keys {
			a, err := arith(t.Key.Type, m.Op, m.Name, k, m.Arg.Keys[0])
			if err != nil {
				return err
			}
			if err := checkAtom(&t.Key, a); err != nil {
				return err
			}
			nd.Keys[i] = a
		}
		if err := sortDatum(t, &nd); err != nil {
			return errorf(TagConstraint, "Result of \"%s\" operation contains duplicates.", m.Name)
		}
	}
	if n := nd.Len(); n < t.Min || n > t.Max {
		return errorf(TagConstraint, "Attempted to store %d elements in %s.", n, typeString(t))
	}
	r.Data[c.Index] = &nd
	return nil
}

func arith(t AtomicType, op Mutator, name string, a, b Atom) (Atom, *Error) {
	if t == TypeReal {
		x, y := a.Real(), b.Real()
		var z float64
		switch op {
		case MutAdd:
			z = x + y
		case MutSub:
			z = x - y
		case MutMul:
			z = x * y
		case MutDiv:
			if y == 0 {
				return a, errorf(TagDomain, "Division by zero.")
			}
			z = x / y
		}
		if math.IsInf(z, 0) || math.IsNaN(z) {
			return a, errorf(TagRange, "Result of \"%s\" operation is out of range.", name)
		}
		return RealAtom(z), nil
	}
	x, y := a.I, b.I
	if (op == MutDiv || op == MutMod) && y == 0 {
		return a, errorf(TagDomain, "Division by zero.")
	}
	var z int64
	overflow := false
	switch op {
	case MutAdd:
		z = x + y
		overflow = (y > 0 && z < x) || (y < 0 && z > x)
	case MutSub:
		z = x - y
		overflow = (y < 0 && z < x) || (y > 0 && z > x)
	case MutMul:
		z = x * y
		overflow = x != 0 && (z/x != y || (x == -1 && y == math.MinInt64))
	case MutDiv:
		overflow = x == math.MinInt64 && y == -1
		if !overflow {
			z = x / y
		}
	case MutMod:
		if !(x == math.MinInt64 && y == -1) {
			z = x % y
		}
	}
	if overflow {
		return a, errorf(TagRange, "Result of \"%s\" operation is out of range.", name)
	}
	return IntAtom(z), nil
}

// mergeDatum returns a ∪ b; for maps, keys already in a keep their values.
// b is flat (a mutation's argument).
func mergeDatum(t *Type, a, b *Datum) Datum {
	if len(b.Keys) == 0 {
		return *a
	}
	if n := a.Len(); len(b.Keys)*4*chunkTarget <= n && n+len(b.Keys) >= bigDatumMin {
		return mergeBig(t, a, b)
	}
	return mergeFlat(t, a.Flat(), b)
}

// mergeFlat is mergeDatum for flat datums.
func mergeFlat(t *Type, a, b *Datum) Datum {
	kt := t.Key.Type
	isMap := t.IsMap()
	n := len(a.Keys) + len(b.Keys)
	var d Datum
	if isMap {
		kv := make([]Atom, 0, 2*n) // keys and values in one allocation
		d.Keys, d.Values = kv[:0:n], kv[n:n]
	} else {
		d.Keys = make([]Atom, 0, n)
	}
	if len(b.Keys)*8 <= len(a.Keys) {
		// A few keys into a large set or map (a port into a bridge's
		// ports, a key into external_ids): find each insertion point by
		// binary search and copy the runs between them whole.
		i := 0
		for j, k := range b.Keys {
			pos, found := slices.BinarySearchFunc(a.Keys[i:], k, func(x, y Atom) int { return compareAtoms(kt, x, y) })
			pos += i
			d.Keys = append(d.Keys, a.Keys[i:pos]...)
			if isMap {
				d.Values = append(d.Values, a.Values[i:pos]...)
			}
			i = pos
			if found {
				continue // an existing key keeps its value
			}
			d.Keys = append(d.Keys, k)
			if isMap {
				d.Values = append(d.Values, b.Values[j])
			}
		}
		d.Keys = append(d.Keys, a.Keys[i:]...)
		if isMap {
			d.Values = append(d.Values, a.Values[i:]...)
		}
		return d
	}
	i, j := 0, 0
	for i < len(a.Keys) || j < len(b.Keys) {
		var c int
		switch {
		case i == len(a.Keys):
			c = 1
		case j == len(b.Keys):
			c = -1
		default:
			c = compareAtoms(kt, a.Keys[i], b.Keys[j])
		}
		if c <= 0 {
			d.Keys = append(d.Keys, a.Keys[i])
			if isMap {
				d.Values = append(d.Values, a.Values[i])
			}
			i++
			if c == 0 {
				j++
			}
		} else {
			d.Keys = append(d.Keys, b.Keys[j])
			if isMap {
				d.Values = append(d.Values, b.Values[j])
			}
			j++
		}
	}
	return d
}

// subtractDatum removes b's keys (or, with pairs, b's matching pairs) from
// a. b is flat (a mutation's argument).
func subtractDatum(t *Type, a, b *Datum, pairs bool) Datum {
	if len(b.Keys) == 0 || a.Len() == 0 {
		return *a
	}
	if a.big != nil && len(b.Keys)*4*chunkTarget <= a.big.n {
		return subtractBig(t, a, b, pairs)
	}
	return subtractFlat(t, a.Flat(), b, pairs)
}

// subtractFlat is subtractDatum for flat datums.
func subtractFlat(t *Type, a, b *Datum, pairs bool) Datum {
	if len(b.Keys) == 0 || len(a.Keys) == 0 {
		return *a
	}
	kt := t.Key.Type
	isMap := t.IsMap()
	d := Datum{Keys: make([]Atom, 0, len(a.Keys))}
	if isMap {
		d.Values = make([]Atom, 0, len(a.Keys))
	}
	for i, k := range a.Keys {
		j := b.Find(kt, k)
		if j >= 0 && (!pairs || b.Values[j] == a.Values[i]) {
			continue
		}
		d.Keys = append(d.Keys, k)
		if isMap {
			d.Values = append(d.Values, a.Values[i])
		}
	}
	return d
}
