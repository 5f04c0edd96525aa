package ovsdb

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// ParseJSON decodes JSON text into Go values the way this package expects
// them: objects as map[string]any, arrays as []any, numbers as json.Number
// (so 64-bit integers never pass through float64), strings, bools and nil.
func ParseJSON(data []byte) (any, error) {
	return parseJSONFast(data)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped the way Open vSwitch does:
// only '"', '\\' and control characters are escaped; UTF-8 passes through.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendReal formats a real like Open vSwitch: the shortest form that
// round-trips, always distinguishable from an integer.
func appendReal(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0')
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', 17, 64)
	// Prefer the shortest exact representation.
	short := strconv.AppendFloat(nil, f, 'g', -1, 64)
	if len(short) < len(b)-n {
		b = append(b[:n], short...)
	}
	if !bytes.ContainsAny(b[n:], ".eE") {
		b = append(b, ".0"...)
	}
	return b
}

// appendJSONValue serialises a value produced by ParseJSON (or plain Go
// scalars, slices and maps of them) compactly, with sorted object keys.
func appendJSONValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case json.Number:
		return append(b, x...)
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendReal(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSONValue(b, x[k])
		}
		return append(b, '}')
	case json.RawMessage:
		return append(b, x...)
	case []byte:
		return append(b, x...)
	}
	r, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, r...)
}

// JSONString returns v serialised compactly (see appendJSONValue).
func JSONString(v any) string { return string(appendJSONValue(nil, v)) }
