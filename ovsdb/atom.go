package ovsdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Atom is one atomic value. Which field is meaningful depends on the
// AtomicType the atom belongs to, which the caller always knows from the
// schema: I holds integers, booleans (0 or 1) and reals (as IEEE-754 bits),
// S holds strings and U holds UUIDs. Atoms of one type compare with ==.
type Atom struct {
	I int64
	S string
	U UUID
}

// IntAtom returns an integer atom.
func IntAtom(i int64) Atom { return Atom{I: i} }

// RealAtom returns a real atom.
func RealAtom(f float64) Atom {
	if f == 0 {
		f = 0 // normalise -0
	}
	return Atom{I: int64(math.Float64bits(f))}
}

// BoolAtom returns a boolean atom.
func BoolAtom(b bool) Atom {
	if b {
		return Atom{I: 1}
	}
	return Atom{}
}

// StringAtom returns a string atom.
func StringAtom(s string) Atom { return Atom{S: s} }

// UUIDAtom returns a uuid atom.
func UUIDAtom(u UUID) Atom { return Atom{U: u} }

// Real returns the atom as a real.
func (a Atom) Real() float64 { return math.Float64frombits(uint64(a.I)) }

// Bool returns the atom as a boolean.
func (a Atom) Bool() bool { return a.I != 0 }

// compareAtoms orders atoms of type t the way Open vSwitch does: numbers
// numerically, false before true, strings and UUIDs bytewise.
func compareAtoms(t AtomicType, a, b Atom) int {
	switch t {
	case TypeInteger, TypeBoolean:
		switch {
		case a.I < b.I:
			return -1
		case a.I > b.I:
			return 1
		}
		return 0
	case TypeReal:
		x, y := a.Real(), b.Real()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case TypeString:
		return strings.Compare(a.S, b.S)
	case TypeUUID:
		return bytes.Compare(a.U[:], b.U[:])
	}
	return 0
}

// defaultAtom is RFC 7047's default: 0, 0.0, false, "", all-zero UUID.
func defaultAtom(t AtomicType) Atom {
	if t == TypeReal {
		return RealAtom(0)
	}
	return Atom{}
}

// AppendAtomJSON appends an atom of type t in RFC 7047 notation.
func AppendAtomJSON(b []byte, t AtomicType, a Atom) []byte {
	switch t {
	case TypeInteger:
		return strconv.AppendInt(b, a.I, 10)
	case TypeReal:
		return appendReal(b, a.Real())
	case TypeBoolean:
		return strconv.AppendBool(b, a.I != 0)
	case TypeString:
		return appendString(b, a.S)
	case TypeUUID:
		b = append(b, `["uuid","`...)
		b = appendUUID(b, a.U)
		return append(b, `"]`...)
	}
	return append(b, "null"...)
}

// Symbol is a named-uuid: the UUID a "uuid-name" stands for within one
// transaction. It is created by its first use, which may come before the
// insert that names it (a forward reference).
type Symbol struct {
	UUID    UUID
	Created bool // an insert with this uuid-name has run
}

// Symbols is a transaction's named-uuid table.
type Symbols map[string]*Symbol

// Lookup returns the symbol called name, creating it with a fresh UUID.
func (s Symbols) Lookup(name string) *Symbol {
	if sym := s[name]; sym != nil {
		return sym
	}
	sym := &Symbol{UUID: NewUUID()}
	s[name] = sym
	return sym
}

// AtomFromJSON parses one atom of base type bt from a value decoded by
// ParseJSON and checks bt's constraints. named-uuid references are resolved
// through syms; a nil syms rejects them.
func AtomFromJSON(bt *BaseType, v any, syms Symbols) (Atom, *Error) {
	a, err := atomFromJSONUnchecked(bt.Type, v, syms)
	if err != nil {
		return a, err
	}
	return a, checkAtom(bt, a)
}

func atomFromJSONUnchecked(t AtomicType, v any, syms Symbols) (Atom, *Error) {
	switch t {
	case TypeInteger:
		if n, ok := v.(json.Number); ok {
			if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return IntAtom(i), nil
			}
		}
	case TypeReal:
		if n, ok := v.(json.Number); ok {
			if f, err := strconv.ParseFloat(string(n), 64); err == nil {
				return RealAtom(f), nil
			}
		}
	case TypeBoolean:
		if x, ok := v.(bool); ok {
			return BoolAtom(x), nil
		}
	case TypeString:
		if x, ok := v.(string); ok {
			return StringAtom(x), nil
		}
	case TypeUUID:
		if arr, ok := v.([]any); ok && len(arr) == 2 {
			kind, _ := arr[0].(string)
			s, ok := arr[1].(string)
			if !ok {
				break
			}
			switch kind {
			case "uuid":
				u, err := ParseUUID(s)
				if err != nil {
					return Atom{}, syntaxErr(v, "\"%s\" is not a valid UUID", s)
				}
				return UUIDAtom(u), nil
			case "named-uuid":
				if syms == nil {
					return Atom{}, syntaxErr(v, "named-uuid is not allowed here")
				}
				return UUIDAtom(syms.Lookup(s).UUID), nil
			}
		}
		return Atom{}, syntaxErr(v, "expected [\"uuid\", <uuid>] or [\"named-uuid\", <name>]")
	}
	return Atom{}, syntaxErr(v, "expected %s", t)
}

// AtomString renders an atom the way ovs-vsctl and Open vSwitch's error
// messages do: strings bare unless they need quotes.
func AtomString(t AtomicType, a Atom) string {
	switch t {
	case TypeString:
		if stringNeedsQuotes(a.S) {
			return string(appendString(nil, a.S))
		}
		return a.S
	case TypeUUID:
		return a.U.String()
	}
	return string(AppendAtomJSON(nil, t, a))
}

func stringNeedsQuotes(s string) bool {
	if s == "" || s == "true" || s == "false" {
		return true
	}
	c := s[0]
	if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return true
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return true
		}
	}
	return false
}

// checkAtom checks an atom against its base type's constraints.
func checkAtom(bt *BaseType, a Atom) *Error {
	if bt.Enum != nil {
		for _, e := range bt.Enum {
			if e == a {
				return nil
			}
		}
		allowed := make([]string, len(bt.Enum))
		for i, e := range bt.Enum {
			allowed[i] = AtomString(bt.Type, e)
		}
		return errorf(TagConstraint, "%s is not one of the allowed values ([%s])",
			AtomString(bt.Type, a), strings.Join(allowed, ", "))
	}
	switch bt.Type {
	case TypeInteger:
		lo, hi := bt.MinInteger, bt.MaxInteger
		if a.I >= lo && a.I <= hi {
			return nil
		}
		switch {
		case lo != math.MinInt64 && hi != math.MaxInt64:
			return errorf(TagConstraint, "%d is not in the valid range %d to %d (inclusive)", a.I, lo, hi)
		case lo != math.MinInt64:
			return errorf(TagConstraint, "%d is less than minimum allowed value %d", a.I, lo)
		default:
			return errorf(TagConstraint, "%d is greater than maximum allowed value %d", a.I, hi)
		}
	case TypeReal:
		f, lo, hi := a.Real(), bt.MinReal, bt.MaxReal
		if f >= lo && f <= hi {
			return nil
		}
		fs := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
		switch {
		case lo != -math.MaxFloat64 && hi != math.MaxFloat64:
			return errorf(TagConstraint, "%s is not in the valid range %s to %s (inclusive)", fs(f), fs(lo), fs(hi))
		case lo != -math.MaxFloat64:
			return errorf(TagConstraint, "%s is less than minimum allowed value %s", fs(f), fs(lo))
		default:
			return errorf(TagConstraint, "%s is greater than maximum allowed value %s", fs(f), fs(hi))
		}
	case TypeString:
		if !utf8.ValidString(a.S) {
			return errorf(TagConstraint, "%q is not valid UTF-8", a.S)
		}
		if bt.MinLength == 0 && bt.MaxLength == math.MaxUint32 {
			return nil
		}
		n := utf8.RuneCountInString(a.S)
		if n < bt.MinLength {
			return errorf(TagConstraint, "\"%s\" length %d is less than minimum allowed length %d", a.S, n, bt.MinLength)
		}
		if n > bt.MaxLength {
			return errorf(TagConstraint, "\"%s\" length %d is greater than maximum allowed length %d", a.S, n, bt.MaxLength)
		}
	}
	return nil
}

// String renders an atom without its type (for debugging).
func (a Atom) String() string {
	return fmt.Sprintf("{%d %q %s}", a.I, a.S, a.U)
}
