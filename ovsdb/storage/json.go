package storage

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors from AppendCompact (and everything that encodes records) for JSON
// text that Open vSwitch's parser would refuse.
var (
	errInvalidJSON = errors.New("invalid json")
	errNulInString = errors.New("null byte in json string")
	errBadUTF8     = errors.New("invalid utf-8 in json string")
	errSurrogate   = errors.New("unpaired utf-16 surrogate in json string")
)

// hexDigits is lower case because Open vSwitch writes \u00xx escapes that
// way.
const hexDigits = "0123456789abcdef"

// AppendCompact appends src, one JSON value, to dst in the compact form
// Open vSwitch writes: no insignificant white space, members in their
// original order, numbers verbatim, and strings escaped as OVS escapes them
// (only '"', '\\' and control characters; '<', '>', '&', '/', U+2028 and
// non-ASCII characters are written raw as UTF-8, unlike Go's encoding/json).
//
// It refuses (with dst unchanged) what Open vSwitch's JSON parser refuses:
// invalid JSON, invalid UTF-8, "\u0000" and unpaired surrogates in strings.
func AppendCompact(dst, src []byte) ([]byte, error) {
	if !json.Valid(src) {
		return dst, errInvalidJSON
	}
	orig := len(dst)
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			var err error
			dst, i, err = appendString(dst, src, i+1)
			if err != nil {
				return dst[:orig], err
			}
		default:
			// Everything outside strings (punctuation, literals, numbers)
			// is plain ASCII that json.Valid has checked; copy a run.
			j := i + 1
			for j < len(src) && !isSpaceOrQuote(src[j]) {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst, nil
}

func isSpaceOrQuote(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"'
}

// appendString decodes the JSON string whose contents start at src[i] (just
// after the opening quote; src is known to be valid JSON) and appends it
// re-escaped the OVS way. It returns the index just past the closing quote.
func appendString(dst, src []byte, i int) ([]byte, int, error) {
	dst = append(dst, '"')
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return append(dst, '"'), i + 1, nil
		case c == '\\':
			r, n, err := decodeEscape(src[i:])
			if err != nil {
				return dst, i, err
			}
			dst = appendRune(dst, r)
			i += n
		case c < utf8.RuneSelf:
			dst = appendRune(dst, rune(c))
			i++
		default:
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				return dst, i, errBadUTF8
			}
			dst = append(dst, src[i:i+n]...)
			i += n
		}
	}
	return dst, i, errInvalidJSON
}

// decodeEscape decodes the escape sequence at the start of s (s[0] is '\\')
// and returns the rune and the number of bytes used, combining a surrogate
// pair into one rune.
func decodeEscape(s []byte) (rune, int, error) {
	if len(s) < 2 {
		return 0, 0, errInvalidJSON
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return 0, 0, errInvalidJSON
		}
		if r == 0 {
			return 0, 0, errNulInString
		}
		if !utf16.IsSurrogate(r) {
			return r, 6, nil
		}
		if r >= 0xdc00 || len(s) < 12 || s[6] != '\\' || s[7] != 'u' {
			return 0, 0, errSurrogate
		}
		r2, ok := hex4(s[8:])
		if !ok {
			return 0, 0, errInvalidJSON
		}
		if full := utf16.DecodeRune(r, r2); full != utf8.RuneError {
			return full, 12, nil
		}
		return 0, 0, errSurrogate
	}
	return 0, 0, errInvalidJSON
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[:4]), 16, 16)
	return rune(v), err == nil
}

// appendRune appends r, a decoded string character, escaped as Open
// vSwitch's json_serialize_string escapes it.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	}
	return utf8.AppendRune(dst, r)
}

// appendQuoted appends s as a JSON string the OVS way. Invalid UTF-8 and NUL
// bytes are refused, as in AppendCompact.
func appendQuoted(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return dst, errBadUTF8
	}
	orig := len(dst)
	dst = append(dst, '"')
	for _, r := range s {
		if r == 0 {
			return dst[:orig], errNulInString
		}
		dst = appendRune(dst, r)
	}
	return append(dst, '"'), nil
}
