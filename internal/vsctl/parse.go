package vsctl

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parsing of values typed on the command line, with ovs-vsctl's syntax and
// error messages.

// symbolResolver resolves "@name" uuid references; nil means not allowed.
type symbolResolver func(name string) (string, error)

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDelim(c byte) bool {
	return isSpace(c) || strings.IndexByte(":,=[]{}!<>", c) >= 0
}

func skipSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// parseToken splits off one token: a quoted string (quotes kept) or a run of
// non-delimiters.
func parseToken(s string) (tok, rest string, err error) {
	if len(s) > 0 && s[0] == '"' {
		i := 1
		for i < len(s) {
			if s[i] == '\\' && i+1 < len(s) {
				i += 2
				continue
			}
			if s[i] == '"' {
				return s[:i+1], s[i+1:], nil
			}
			i++
		}
		return "", "", fatalf("%s: missing quote at end of quoted string", s)
	}
	i := 0
	for i < len(s) && !isDelim(s[i]) {
		i++
	}
	return s[:i], s[i:], nil
}

// unquote decodes a JSON-style quoted string.
func unquote(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", fatalf("%s: missing quote at end of quoted string", s)
	}
	in := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == '"' {
			return "", fatalf("%s: missing quote at end of quoted string", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(in) {
			return "", fatalf("%s: missing quote at end of quoted string", s)
		}
		switch in[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(in) {
				if v, err := strconv.ParseUint(in[i+1:i+5], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += 4
					continue
				}
			}
			return "", fatalf("%s: invalid escape in quoted string", s)
		default:
			b.WriteByte(in[i])
		}
	}
	return b.String(), nil
}

// parseAtom parses the whole of s as one atom of type b.
func parseAtom(s string, b *BaseType, syms symbolResolver, allowRange bool) ([]Atom, error) {
	a := Atom{T: b.Type}
	switch b.Type {
	case TypeInteger:
		if allowRange {
			if i := strings.IndexByte(s[min(1, len(s)):], '-'); i >= 0 {
				i++
				lo, err1 := strconv.ParseInt(s[:i], 10, 64)
				hi, err2 := strconv.ParseInt(s[i+1:], 10, 64)
				if err1 == nil && err2 == nil {
					if hi < lo {
						return nil, fatalf("%q is not a valid range. Range end cannot be before start.", s)
					}
					if hi-lo >= 4096 {
						return nil, fatalf("Range \"%s\" is too big.", s)
					}
					var out []Atom
					for v := lo; v <= hi; v++ {
						out = append(out, Atom{T: TypeInteger, I: v})
					}
					return out, nil
				}
			}
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if allowRange {
				return nil, fatalf("%q is not a valid integer or range", s)
			}
			return nil, fatalf("%q is not a valid integer", s)
		}
		a.I = v
	case TypeReal:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fatalf("%q is not a valid real number", s)
		}
		a.R = v
	case TypeBoolean:
		switch s {
		case "true", "yes", "on", "1":
			a.B = true
		case "false", "no", "off", "0":
		default:
			return nil, fatalf("%q is not a valid boolean (use \"true\" or \"false\")", s)
		}
	case TypeString:
		if len(s) > 0 && s[0] == '"' {
			u, err := unquote(s)
			if err != nil {
				return nil, err
			}
			a.S = u
		} else {
			a.S = s
		}
	case TypeUUID:
		if len(s) > 0 && s[0] == '@' && syms != nil {
			u, err := syms(s)
			if err != nil {
				return nil, err
			}
			a.S = u
		} else if isUUID(s) {
			a.S = strings.ToLower(s)
		} else {
			return nil, fatalf("%q is not a valid UUID", s)
		}
	}
	return []Atom{a}, nil
}

// checkAtom applies the base type's constraints.
func checkAtom(a Atom, b *BaseType) error {
	if len(b.Enum) > 0 {
		for _, e := range b.Enum {
			if compareAtoms(a, e) == 0 {
				return nil
			}
		}
		d := &Datum{Keys: b.Enum}
		return fatalf("constraint violation: %s is not one of the allowed values (%s)",
			AtomString(a), d.String(&ColType{Key: *b, Max: 2}))
	}
	switch b.Type {
	case TypeInteger:
		if a.I < b.MinInt || a.I > b.MaxInt {
			switch {
			case b.hasMinInt && b.hasMaxInt:
				if b.MinInt == b.MaxInt {
					return fatalf("constraint violation: %d is not allowed value %d", a.I, b.MinInt)
				}
				return fatalf("constraint violation: %d is not in the valid range %d to %d (inclusive)", a.I, b.MinInt, b.MaxInt)
			case b.hasMinInt:
				return fatalf("constraint violation: %d is less than minimum allowed value %d", a.I, b.MinInt)
			default:
				return fatalf("constraint violation: %d is greater than maximum allowed value %d", a.I, b.MaxInt)
			}
		}
	case TypeString:
		if !utf8.ValidString(a.S) {
			return fatalf("constraint violation: not a valid UTF-8 string: invalid UTF-8 sequence %s", badUTF8(a.S))
		}
		n := len([]rune(a.S))
		if n < b.MinLen {
			return fatalf("constraint violation: \"%s\" length %d is less than minimum allowed length %d", a.S, n, b.MinLen)
		}
		if n > b.MaxLen {
			return fatalf("constraint violation: \"%s\" length %d is greater than maximum allowed length %d", a.S, n, b.MaxLen)
		}
	}
	return nil
}

// badUTF8 shows the first invalid UTF-8 sequence as "0xNN 0xNN": the lead
// byte and the continuation bytes up to the one that broke it (0x00 at the
// end of the string).
func badUTF8(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			i += n
			continue
		}
		out := fmt.Sprintf("0x%02x", s[i])
		if s[i] >= 0xc0 {
			for j := i + 1; ; j++ {
				if j >= len(s) {
					out += " 0x00"
					break
				}
				out += fmt.Sprintf(" 0x%02x", s[j])
				if s[j]&0xc0 != 0x80 {
					break
				}
			}
		}
		return out
	}
	return ""
}

// parseCheckedAtom parses one whole-string atom and checks constraints.
func parseCheckedAtom(s string, b *BaseType, syms symbolResolver) (Atom, error) {
	as, err := parseAtom(s, b, syms, false)
	if err != nil {
		return Atom{}, err
	}
	if err := checkAtom(as[0], b); err != nil {
		return Atom{}, err
	}
	return as[0], nil
}

func typeDescription(t *ColType) string {
	if t.IsMap() {
		return fmt.Sprintf("map of (%s, %s) pairs", t.Key.Type, t.Value.Type)
	}
	if t.Max == 1 {
		return t.Key.Type.String()
	}
	return fmt.Sprintf("set of %ss", t.Key.Type)
}

// parseDatum parses a whole column value typed on the command line.
func parseDatum(s string, t *ColType, syms symbolResolver) (*Datum, error) {
	d, err := parseDatumNoCheck(s, t, syms)
	if err != nil {
		return nil, err
	}
	if len(d.Keys) < t.Min || len(d.Keys) > t.Max {
		if len(d.Keys) < t.Min {
			return nil, fatalf("%s: %d value(s) specified but the minimum number is %d", s, len(d.Keys), t.Min)
		}
		return nil, fatalf("%s: %d value(s) specified but the maximum number is %d", s, len(d.Keys), t.Max)
	}
	return d, nil
}

func parseDatumNoCheck(s string, t *ColType, syms symbolResolver) (*Datum, error) {
	isMap := t.IsMap()
	d := &Datum{}
	if isMap {
		d.Values = []Atom{}
	}
	p := skipSpace(s)
	open, closeCh := byte('['), byte(']')
	if isMap {
		open, closeCh = '{', '}'
	}
	bracketed := false
	if len(p) > 0 && p[0] == open {
		bracketed = true
		p = skipSpace(p[1:])
	}
	for len(p) > 0 && p[0] != closeCh {
		elem := p
		tok, rest, err := parseToken(p)
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, fatalf("%s: unexpected %q parsing %s", s, string(p[0]), typeDescription(t))
		}
		keys, err := parseAtom(tok, &t.Key, syms, !isMap && t.Key.Type == TypeInteger)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := checkAtom(k, &t.Key); err != nil {
				return nil, err
			}
		}
		p = skipSpace(rest)
		if isMap {
			if len(p) == 0 || p[0] != '=' {
				if len(p) == 0 {
					return nil, fatalf("%s: syntax error at \"", elem)
				}
				at, _, _ := parseToken(p)
				if at == "" {
					at = p[:1]
				}
				return nil, fatalf("%s: syntax error at \"%s\" expecting \"=\"", elem, at)
			}
			p = skipSpace(p[1:])
			vtok, vrest, err := parseToken(p)
			if err != nil {
				return nil, err
			}
			vs, err := parseAtom(vtok, &t.Value, syms, false)
			if err != nil {
				return nil, err
			}
			if err := checkAtom(vs[0], &t.Value); err != nil {
				return nil, err
			}
			d.Keys = append(d.Keys, keys[0])
			d.Values = append(d.Values, vs[0])
			p = skipSpace(vrest)
		} else {
			d.Keys = append(d.Keys, keys...)
		}
		if len(p) > 0 && p[0] == ',' {
			p = skipSpace(p[1:])
		}
	}
	if bracketed {
		if len(p) == 0 {
			return nil, fatalf("%s: missing %q at end of data", s, string(closeCh))
		}
		p = skipSpace(p[1:])
		if len(p) > 0 {
			return nil, fatalf("%s: trailing garbage after %q", s, string(closeCh))
		}
	} else if len(p) > 0 {
		return nil, fatalf("%s: unexpected %q parsing %s", s, string(p[0]), typeDescription(t))
	}
	if d.sortDatum() {
		if isMap {
			return nil, fatalf("%s: map contains duplicate key", s)
		}
		return nil, fatalf("%s: set contains duplicate value", s)
	}
	return d, nil
}

// parseColumnKeyValue splits "column[:key][=value]" the way ovs-vsctl does:
// the column name runs up to ':' or '=' (or the end), the key is one token.
func splitColumnArg(arg string) (col string, key string, hasKey bool, value string, hasValue bool, err error) {
	i := strings.IndexAny(arg, ":=")
	if i < 0 {
		return arg, "", false, "", false, nil
	}
	col = arg[:i]
	rest := arg[i:]
	if rest[0] == ':' {
		tok, r, terr := parseToken(rest[1:])
		if terr != nil {
			return "", "", false, "", false, terr
		}
		key, hasKey, rest = tok, true, r
	}
	if len(rest) > 0 && rest[0] == '=' {
		return col, key, hasKey, rest[1:], true, nil
	}
	if len(rest) > 0 {
		return "", "", false, "", false, fatalf("%s: trailing garbage %q in argument", arg, rest)
	}
	return col, key, hasKey, "", false, nil
}

var _ = bytes.MinRead
