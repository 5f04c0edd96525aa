package jsonrpc

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects in a message, as
// encoding/json does, so that a hostile message cannot exhaust the stack.
const maxDepth = 10000

// scanner checks JSON syntax (RFC 8259) and finds the extent of values
// without building them: Parse keeps the members it needs as raw bytes.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) errAt(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("unexpected end of JSON input, expecting %s", what)
	}
	return fmt.Errorf("invalid character %q at offset %d, expecting %s", s.b[s.i], s.i, what)
}

func (s *scanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// value skips one value starting at s.i (no leading white space).
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.errAt("value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return fmt.Errorf("exceeded max depth")
		}
		return s.container(depth + 1)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.errAt("value")
}

func (s *scanner) container(depth int) error {
	obj := s.b[s.i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closer {
		s.i++
		return nil
	}
	for {
		s.ws()
		if obj {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.errAt("object key")
			}
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.errAt("':' after object key")
			}
			s.i++
			s.ws()
		}
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errAt("',' or closing bracket")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			continue
		case closer:
			s.i++
			return nil
		}
		return s.errAt("',' or closing bracket")
	}
}

// str skips a string starting at s.i (which must be '"').
func (s *scanner) str() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.errAt("string")
	}
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.errAt("string character")
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return s.errAt("escape")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return s.errAt("hexadecimal digit in \\u escape")
					}
					s.i++
				}
			default:
				return s.errAt("escape")
			}
		default:
			s.i++
		}
	}
	return s.errAt("closing quote")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.errAt("digit")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return s.errAt("digit after decimal point")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return s.errAt("digit in exponent")
		}
	}
	return nil
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.errAt("literal " + lit)
	}
	s.i += len(lit)
	return nil
}

// unquote decodes a string the scanner accepted (quotes included).
func unquote(q []byte) (string, error) {
	body := q[1 : len(q)-1]
	for _, c := range body {
		if c == '\\' || c >= utf8.RuneSelf {
			var out string
			err := json.Unmarshal(q, &out)
			return out, err
		}
	}
	return string(body), nil
}
