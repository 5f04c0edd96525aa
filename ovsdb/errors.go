package ovsdb

import (
	"errors"
	"fmt"
)

// Error tags used by RFC 7047 and Open vSwitch.
const (
	TagReferentialIntegrity = "referential integrity violation"
	TagConstraint           = "constraint violation"
	TagResources            = "resources exhausted"
	TagIO                   = "I/O error"
	TagDuplicateUUIDName    = "duplicate uuid-name"
	TagDomain               = "domain error"
	TagRange                = "range error"
	TagTimedOut             = "timed out"
	TagNotSupported         = "not supported"
	TagAborted              = "aborted"
	TagNotOwner             = "not owner"
	TagSyntax               = "syntax error"
	TagUnknownColumn        = "unknown column"
	TagInternal             = "internal error"
	TagOVSDB                = "ovsdb error"
	TagNotAllowed           = "not allowed"
	TagDuplicateUUID        = "duplicate uuid"
	TagUnknownDatabase      = "unknown database"
	TagCanceled             = "canceled"
)

// Error is an RFC 7047 error object: {"error":Tag,"details":Details} plus
// Open vSwitch's optional "syntax" member (the offending JSON text).
type Error struct {
	Tag     string
	Details string
	Syntax  string
}

func (e *Error) Error() string {
	if e.Details == "" {
		return e.Tag
	}
	return e.Tag + ": " + e.Details
}

// AppendJSON appends the error object.
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if e.Details != "" {
		b = append(b, `"details":`...)
		b = appendString(b, e.Details)
		b = append(b, ',')
	}
	b = append(b, `"error":`...)
	b = appendString(b, e.Tag)
	if e.Syntax != "" {
		b = append(b, `,"syntax":`...)
		b = appendString(b, e.Syntax)
	}
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler.
func (e *Error) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// errorf builds an *Error with formatted details.
func errorf(tag, format string, args ...any) *Error {
	return &Error{Tag: tag, Details: fmt.Sprintf(format, args...)}
}

// syntaxErr builds a "syntax error" with the offending JSON.
func syntaxErr(v any, format string, args ...any) *Error {
	e := errorf(TagSyntax, format, args...)
	if v != nil {
		e.Syntax = string(appendJSONValue(nil, v))
	}
	return e
}

// AsError converts any error to an *Error, defaulting to "ovsdb error".
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Tag: TagOVSDB, Details: err.Error()}
}
