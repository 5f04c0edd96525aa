package ovsdb

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting so a hostile message cannot exhaust the stack.
const maxJSONDepth = 1000

var errJSONSyntax = errors.New("invalid JSON")

// jsonParser is a small allocation-light JSON decoder producing the same
// values as encoding/json with UseNumber (map[string]any, []any,
// json.Number, string, bool, nil). Like Open vSwitch it rejects invalid
// UTF-8 in strings.
//
// A big transaction repeats the same short strings many times (member and
// column names, "insert", "named-uuid", a uuid-name and its references),
// so within one parse equal member names share one string and equal short
// string and number values share one boxed value (values are immutable,
// so sharing is invisible to callers). Arrays are cut from a shared
// backing slab, each with its capacity equal to its length, so an append
// by a caller copies instead of touching a neighbour.
type jsonParser struct {
	data  []byte
	pos   int
	cache *parseCache // nil for small messages
	stack []any       // elements of the arrays being parsed
	slab  []any       // backing store for finished arrays
	slabN int         // size of the next slab
}

// parseCache remembers recent member names, short strings and numbers of
// one parse in direct-mapped tables (a miss just replaces the entry).
type parseCache struct {
	keys [cacheSize]string
	strs [cacheSize]any // string
	nums [cacheSize]any // json.Number
}

const cacheSize = 1024

// cacheSlot hashes b (FNV-1a) to a table index.
func cacheSlot(b []byte) int {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return int(h % cacheSize)
}

// Boxed values are shared only for strings this short: longer ones rarely
// repeat and would only grow the cache.
const maxSharedString = 64

// slabSize is how many array elements one backing allocation holds at
// most. The first slab of a parse is smaller and each next one twice the
// size: most messages are small, and the slabs are zeroed and scanned by
// the garbage collector.
const (
	slabSize      = 512
	firstSlabSize = 32
)

func parseJSONFast(data []byte) (any, error) {
	return parseJSONCache(data, len(data) > 4096) // a cache pays only for a big message
}

func parseJSONCache(data []byte, cache bool) (any, error) {
	p := &jsonParser{data: data}
	if cache {
		p.cache = new(parseCache)
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, &Error{Tag: TagSyntax, Details: "trailing data after JSON value"}
	}
	return v, nil
}

func (p *jsonParser) fail(what string) error {
	return errors.Join(errJSONSyntax, errors.New(what+" at offset "+strconv.Itoa(p.pos)))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.fail("nesting too deep")
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		m := map[string]any{}
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return m, nil
		}
		for {
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.fail("expected object member name")
			}
			k, err := p.key()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.fail("expected ':'")
			}
			p.pos++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			p.skipSpace()
			if p.pos >= len(p.data) {
				return nil, p.fail("unexpected end of object")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == '}' {
				p.pos++
				return m, nil
			}
			return nil, p.fail("expected ',' or '}'")
		}
	case c == '[':
		p.pos++
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return make([]any, 0), nil
		}
		base := len(p.stack)
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			p.stack = append(p.stack, v)
			p.skipSpace()
			if p.pos >= len(p.data) {
				return nil, p.fail("unexpected end of array")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == ']' {
				p.pos++
				a := p.array(p.stack[base:])
				clear(p.stack[base:])
				p.stack = p.stack[:base]
				return a, nil
			}
			return nil, p.fail("expected ',' or ']'")
		}
	case c == '"':
		return p.strValue()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.fail("unexpected character")
}

// array returns a copy of elems with capacity equal to its length, cut
// from the slab when it is small.
func (p *jsonParser) array(elems []any) []any {
	n := len(elems)
	if n > slabSize/8 {
		return append(make([]any, 0, n), elems...)
	}
	if len(p.slab) < n {
		sz := max(p.slabN, firstSlabSize)
		p.slabN = min(2*sz, slabSize)
		p.slab = make([]any, max(sz, n))
	}
	a := p.slab[:n:n]
	p.slab = p.slab[n:]
	copy(a, elems)
	return a
}

// key parses an object member name, sharing equal names within the parse.
func (p *jsonParser) key() (string, error) {
	if p.cache == nil {
		return p.str()
	}
	if raw, ok := p.plain(); ok {
		i := cacheSlot(raw)
		if k := p.cache.keys[i]; k == string(raw) && k != "" {
			return k, nil
		}
		k := string(raw)
		p.cache.keys[i] = k
		return k, nil
	}
	return p.str()
}

// strValue parses a string value, boxed, sharing equal short strings
// within the parse.
func (p *jsonParser) strValue() (any, error) {
	if p.cache != nil {
		if raw, ok := p.plain(); ok {
			if len(raw) > maxSharedString {
				return string(raw), nil
			}
			i := cacheSlot(raw)
			if v, ok := p.cache.strs[i].(string); ok && v == string(raw) {
				return p.cache.strs[i], nil
			}
			var v any = string(raw)
			p.cache.strs[i] = v
			return v, nil
		}
	}
	s, err := p.str()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// plain consumes a string at p.pos that has no escapes or control
// characters and is valid UTF-8, returning its bytes (aliasing the
// input). It reports false, consuming nothing, for any other string.
func (p *jsonParser) plain() ([]byte, bool) {
	d := p.data
	for i := p.pos + 1; i < len(d); i++ {
		c := d[i]
		if c == '"' {
			s := d[p.pos+1 : i]
			if !utf8.Valid(s) {
				return nil, false
			}
			p.pos = i + 1
			return s, true
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
	}
	return nil, false
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return nil, p.fail("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(d) && d[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.fail("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.cache != nil {
		raw := d[start:p.pos]
		i := cacheSlot(raw)
		if v, ok := p.cache.nums[i].(json.Number); ok && string(v) == string(raw) {
			return p.cache.nums[i], nil
		}
		var v any = json.Number(raw)
		p.cache.nums[i] = v
		return v, nil
	}
	return json.Number(d[start:p.pos]), nil
}

func (p *jsonParser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// Fast path: no escapes.
	for p.pos < len(d) {
		c := d[p.pos]
		if c == '"' {
			s := d[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return "", p.fail("invalid UTF-8 in string")
			}
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), d[start:p.pos]...)
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(buf) {
				return "", p.fail("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(d) {
			break
		}
		e := d[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
					p.pos += 2
					r2, ok = p.hex4()
					if !ok {
						return "", p.fail("invalid \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", p.fail("invalid UTF-16 surrogate pair")
				}
			}
			if r == 0 {
				return "", p.fail("null character in string")
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("invalid escape")
		}
	}
	return "", p.fail("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		h, ok := unhex(p.data[p.pos+i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	p.pos += 4
	return r, true
}
