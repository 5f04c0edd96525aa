package ovsdb

import (
	"fmt"
	"strings"
	"time"
)

// Function is a condition function (RFC 7047 section 5.1).
type Function uint8

// The condition functions.
const (
	FuncLT Function = iota
	FuncLE
	FuncEQ
	FuncNE
	FuncGE
	FuncGT
	FuncIncludes
	FuncExcludes
	FuncTrue
	FuncFalse
)

var funcNames = map[string]Function{"<": FuncLT, "<=": FuncLE, "==": FuncEQ, "!=": FuncNE, ">=": FuncGE,
	">": FuncGT, "includes": FuncIncludes, "excludes": FuncExcludes}

// Clause is one condition clause.
type Clause struct {
	Column *ColumnSchema
	Func   Function
	Arg    Datum
}

// Condition is a conjunction of clauses (an empty one is true), as in
// transactions, or with Any set a disjunction, as in monitor conditions
// (ovsdb-server(7): a row is monitored when any clause matches; an empty
// condition matches every row).
type Condition struct {
	Clauses []Clause
	Any     bool
}

// ParseCondition parses a <where> array (RFC 7047 <condition>s plus Open
// vSwitch's boolean true/false clauses) for table ts.
func ParseCondition(ts *TableSchema, v any, syms Symbols) (*Condition, *Error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, syntaxErr(v, "where clause must be an array")
	}
	cond := &Condition{Clauses: make([]Clause, 0, len(arr))}
	for _, cv := range arr {
		if bv, ok := cv.(bool); ok {
			f := FuncFalse
			if bv {
				f = FuncTrue
			}
			cond.Clauses = append(cond.Clauses, Clause{Func: f})
			continue
		}
		ca, ok := cv.([]any)
		if !ok || len(ca) != 3 {
			return nil, syntaxErr(cv, "Parse error in condition.")
		}
		cn, _ := ca[0].(string)
		c := ts.ColumnMap[cn]
		if c == nil {
			e := syntaxErr(cv, "No column %s in table %s.", cn, ts.Name)
			e.Tag = TagUnknownColumn
			return nil, e
		}
		fn, _ := ca[1].(string)
		f, ok := funcNames[fn]
		if !ok {
			return nil, errorf("unknown function", "No function named %s.", fn)
		}
		t := c.Type
		switch f {
		case FuncLT, FuncLE, FuncGE, FuncGT:
			if t.Max != 1 || t.IsMap() || (t.Key.Type != TypeInteger && t.Key.Type != TypeReal) {
				return nil, syntaxErr(cv, "Type mismatch: \"%s\" operator may not be applied to column %s of type %s.",
					fn, cn, typeString(&t))
			}
		case FuncIncludes, FuncExcludes:
			if !t.IsScalar() {
				t.Min, t.Max = 0, Unlimited
			}
		}
		d, err := DatumFromJSON(&t, ca[2], syms)
		if err != nil {
			return nil, err
		}
		cond.Clauses = append(cond.Clauses, Clause{Column: c, Func: f, Arg: d})
	}
	return cond, nil
}

// typeString describes a type in English as Open vSwitch does
// ("set of up to 4096 integers", "map of (string, string) pairs").
func typeString(t *Type) string {
	key := t.Key.Type.String()
	if t.IsScalar() {
		return key
	}
	var sb strings.Builder
	if t.IsMap() {
		sb.WriteString("map")
	} else {
		sb.WriteString("set")
	}
	switch {
	case t.Max == Unlimited && t.Min > 0:
		fmt.Fprintf(&sb, " of %d or more", t.Min)
	case t.Max == Unlimited:
		sb.WriteString(" of")
	case t.Min > 0:
		fmt.Fprintf(&sb, " of %d to %d", t.Min, t.Max)
	default:
		fmt.Fprintf(&sb, " of up to %d", t.Max)
	}
	if t.IsMap() {
		fmt.Fprintf(&sb, " (%s, %s) pairs", key, t.Value.Type)
	} else {
		fmt.Fprintf(&sb, " %ss", key)
	}
	return sb.String()
}

// uuidEquals reports a clause [_uuid, ==, u] (the common fast path).
func (c *Condition) uuidEquals() (UUID, bool) {
	for i := range c.Clauses {
		cl := &c.Clauses[i]
		if cl.Func == FuncEQ && cl.Column != nil && cl.Column.Index == 0 && len(cl.Arg.Keys) == 1 {
			return cl.Arg.Keys[0].U, true
		}
	}
	return UUID{}, false
}

// Eval reports whether r satisfies the condition.
func (c *Condition) Eval(r *Row) bool {
	if c.Any {
		for i := range c.Clauses {
			if c.Clauses[i].eval(r) {
				return true
			}
		}
		return len(c.Clauses) == 0
	}
	for i := range c.Clauses {
		if !c.Clauses[i].eval(r) {
			return false
		}
	}
	return true
}

// IsTrue reports whether the condition is trivially true.
func (c *Condition) IsTrue() bool {
	if c.Any {
		for i := range c.Clauses {
			if c.Clauses[i].Func == FuncTrue {
				return true
			}
		}
		return len(c.Clauses) == 0
	}
	for i := range c.Clauses {
		if c.Clauses[i].Func != FuncTrue {
			return false
		}
	}
	return true
}

func (cl *Clause) eval(r *Row) bool {
	switch cl.Func {
	case FuncTrue:
		return true
	case FuncFalse:
		return false
	}
	d := r.Data[cl.Column.Index]
	t := &cl.Column.Type
	switch cl.Func {
	case FuncEQ:
		return d.Equal(&cl.Arg)
	case FuncNE:
		return !d.Equal(&cl.Arg)
	case FuncIncludes:
		return includes(t, d.Flat(), &cl.Arg)
	case FuncExcludes:
		return excludes(t, d.Flat(), &cl.Arg)
	}
	d = d.Flat()
	if len(d.Keys) == 0 || len(cl.Arg.Keys) == 0 {
		return false
	}
	c := compareAtoms(t.Key.Type, d.Keys[0], cl.Arg.Keys[0])
	switch cl.Func {
	case FuncLT:
		return c < 0
	case FuncLE:
		return c <= 0
	case FuncGE:
		return c >= 0
	case FuncGT:
		return c > 0
	}
	return false
}

// includes reports whether every element (pair) of b is in a.
func includes(t *Type, a, b *Datum) bool {
	for i, k := range b.Keys {
		j := a.Find(t.Key.Type, k)
		if j < 0 || (t.IsMap() && a.Values[j] != b.Values[i]) {
			return false
		}
	}
	return true
}

// excludes reports whether no element (pair) of b is in a.
func excludes(t *Type, a, b *Datum) bool {
	for i, k := range b.Keys {
		j := a.Find(t.Key.Type, k)
		if j >= 0 && (!t.IsMap() || a.Values[j] == b.Values[i]) {
			return false
		}
	}
	return true
}

func (x *txn) opWait(b []byte, p *objParser, t *Table) ([]byte, *Error) {
	tv := p.get("timeout", false)
	cv := p.get("columns", false)
	until, _ := p.str("until", true)
	rv := p.get("rows", true)
	if p.err != nil {
		return b, p.err
	}
	timeout := time.Duration(-1)
	if tv != nil {
		n, ok := jsonInt(tv)
		if !ok || n < 0 {
			return b, syntaxErr(tv, "timeout must be a non-negative integer")
		}
		timeout = time.Duration(n) * time.Millisecond
	}
	if until != "==" && until != "!=" {
		return b, syntaxErr(until, "\"until\" must be \"==\" or \"!=\"")
	}
	rows, err := x.matching(p, t)
	if err != nil {
		return b, err
	}
	if err := p.finish(); err != nil {
		return b, err
	}
	cols, err := x.parseColumns(t.Schema, cv, false)
	if err != nil {
		return b, err
	}
	ra, ok := rv.([]any)
	if !ok {
		return b, syntaxErr(rv, "rows must be an array")
	}
	expected := map[string]bool{}
	for _, rowv := range ra {
		m, ok := rowv.(map[string]any)
		if !ok {
			return b, syntaxErr(rowv, "row is not a JSON object")
		}
		r := newRow(t.Schema, UUID{})
		for _, name := range objectOrder(m) {
			val := m[name]
			c := t.Schema.ColumnMap[name]
			if c == nil {
				return b, &Error{Tag: TagUnknownColumn, Details: "No column " + name + " in table " + t.Schema.Name + ".",
					Syntax: JSONString(rowv)}
			}
			d, err := DatumFromJSON(&c.Type, val, x.syms)
			if err != nil {
				return b, err
			}
			r.Data[c.Index] = &d
		}
		expected[string(appendRowJSON(nil, r, cols, false))] = true
	}
	actual := map[string]bool{}
	for _, r := range rows {
		actual[string(appendRowJSON(nil, r, cols, false))] = true
	}
	equal := len(actual) == len(expected)
	if equal {
		for k := range actual {
			if !expected[k] {
				equal = false
				break
			}
		}
	}
	if equal == (until == "==") {
		return append(b, "{}"...), nil
	}
	switch {
	case timeout == 0:
		return b, errorf(TagTimedOut, "\"where\" clause test failed")
	case timeout > 0 && x.elapsed >= timeout:
		return b, errorf(TagTimedOut, "\"wait\" timed out after %d ms", x.elapsed.Milliseconds())
	}
	x.blocked = &errBlocked{}
	if timeout > 0 {
		x.blocked.deadline = x.opts.Start.Add(timeout)
	}
	return b, nil
}
