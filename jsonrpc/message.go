package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Kind is a message's kind, decided by which members it has.
type Kind int

// The four message kinds of JSON-RPC 1.0 as Open vSwitch classifies them.
const (
	KindRequest Kind = iota // method, params, non-null id
	KindNotify              // method, params, id null
	KindReply               // result, id (error absent or null)
	KindError               // error, id (result absent or null)
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotify:
		return "notification"
	case KindReply:
		return "reply"
	case KindError:
		return "error"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Message is one JSON-RPC message. Raw members are nil when absent; a JSON
// null is normalised to nil too, because OVS treats null as absent.
type Message struct {
	Kind   Kind
	Method string
	Params json.RawMessage // always a JSON array for requests and notifications
	Result json.RawMessage
	Error  json.RawMessage
	ID     json.RawMessage
}

// Errors that parsing a message can return; each wraps ErrProtocol.
var (
	ErrProtocol = fmt.Errorf("json-rpc protocol error")
)

var jsonNull = []byte("null")

func isNull(r json.RawMessage) bool { return len(r) == 0 || bytes.Equal(r, jsonNull) }

// Parse classifies a JSON object as a message, applying Open vSwitch's rules:
// unknown members, non-array params, or a member mix that matches no kind are
// errors wrapping ErrProtocol.
func Parse(data []byte) (*Message, error) {
	// The members alias one private copy of data (the caller's buffer is
	// reused for the next message).
	data = bytes.Clone(data)
	sc := scanner{b: data}
	sc.ws()
	if sc.i >= len(data) || data[sc.i] != '{' {
		if err := sc.value(0); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		return nil, fmt.Errorf("%w: message is not a request, notification or reply", ErrProtocol)
	}
	sc.i++
	m := &Message{}
	var hasMethod, hasParams, hasID bool
	var unknown string
	sc.ws()
	if sc.i < len(data) && data[sc.i] == '}' {
		sc.i++
	} else {
		for {
			sc.ws()
			k0 := sc.i
			if err := sc.str(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			key, err := unquote(data[k0:sc.i])
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			sc.ws()
			if sc.i >= len(data) || data[sc.i] != ':' {
				return nil, fmt.Errorf("%w: %w", ErrProtocol, sc.errAt("':' after object key"))
			}
			sc.i++
			sc.ws()
			v0 := sc.i
			if err := sc.value(1); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			v := json.RawMessage(data[v0:sc.i:sc.i])
			switch key {
			case "method":
				hasMethod = true
				if isNull(v) {
					m.Method = ""
				} else if v[0] != '"' {
					unknown = "\x00method"
				} else if m.Method, err = unquote(v); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
				}
			case "params":
				hasParams = true
				m.Params = v
			case "result":
				m.Result = nil
				if !isNull(v) {
					m.Result = v
				}
			case "error":
				m.Error = nil
				if !isNull(v) {
					m.Error = v
				}
			case "id":
				hasID = true
				m.ID = nil
				if !isNull(v) {
					m.ID = v
				}
			default:
				if unknown == "" {
					unknown = key
				}
			}
			sc.ws()
			if sc.i < len(data) && data[sc.i] == ',' {
				sc.i++
				continue
			}
			if sc.i < len(data) && data[sc.i] == '}' {
				sc.i++
				break
			}
			return nil, fmt.Errorf("%w: %w", ErrProtocol, sc.errAt("',' or '}' after object member"))
		}
	}
	sc.ws()
	if sc.i != len(data) {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, sc.errAt("end of input after top-level value"))
	}
	switch {
	case unknown == "\x00method":
		return nil, fmt.Errorf("%w: method is not a string", ErrProtocol)
	case unknown != "":
		return nil, fmt.Errorf("%w: message has unexpected member %q", ErrProtocol, unknown)
	}
	switch {
	case hasMethod:
		if !hasParams {
			return nil, fmt.Errorf("%w: %q request lacks params", ErrProtocol, m.Method)
		}
		if p := bytes.TrimLeft(m.Params, " \t\r\n"); len(p) == 0 || p[0] != '[' {
			return nil, fmt.Errorf("%w: %q params is not a JSON array", ErrProtocol, m.Method)
		}
		if m.Result != nil || m.Error != nil {
			return nil, fmt.Errorf("%w: request has result or error", ErrProtocol)
		}
		if m.ID != nil {
			m.Kind = KindRequest
		} else {
			m.Kind = KindNotify
		}
	case m.Error != nil:
		if !hasID || m.Result != nil || hasParams {
			return nil, fmt.Errorf("%w: malformed error reply", ErrProtocol)
		}
		m.Kind = KindError
	case m.Result != nil:
		if !hasID || hasParams {
			return nil, fmt.Errorf("%w: malformed reply", ErrProtocol)
		}
		m.Kind = KindReply
	default:
		return nil, fmt.Errorf("%w: message is not a request, notification or reply", ErrProtocol)
	}
	return m, nil
}

// Marshal encodes m the way Open vSwitch does: requests and notifications
// carry "id" (null for notifications), replies carry "error":null and errors
// carry "result":null.
func (m *Message) Marshal() []byte {
	var b bytes.Buffer
	b.Grow(64 + len(m.Params) + len(m.Result) + len(m.Error))
	b.WriteString(`{"id":`)
	writeRaw(&b, m.ID)
	switch m.Kind {
	case KindRequest, KindNotify:
		b.WriteString(`,"method":`)
		writeString(&b, m.Method)
		b.WriteString(`,"params":`)
		if len(m.Params) == 0 {
			b.WriteString("[]")
		} else {
			b.Write(m.Params)
		}
	case KindReply:
		b.WriteString(`,"result":`)
		writeRaw(&b, m.Result)
		b.WriteString(`,"error":null`)
	case KindError:
		b.WriteString(`,"result":null,"error":`)
		writeRaw(&b, m.Error)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeRaw(b *bytes.Buffer, r json.RawMessage) {
	if len(r) == 0 {
		b.Write(jsonNull)
		return
	}
	b.Write(r)
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// MarshalJSON encodes v as JSON without HTML escaping (OVS never escapes <, >
// or &), for building params and results.
func MarshalJSON(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func mustJSON(v any) json.RawMessage {
	r, err := MarshalJSON(v)
	if err != nil {
		// Only reachable with a value that cannot be JSON (a channel, a func):
		// a programming error in the caller, never input from the network.
		panic(fmt.Sprintf("jsonrpc: cannot encode %T: %v", v, err))
	}
	return r
}

// NewRequest builds a request. params must encode as a JSON array.
func NewRequest(method string, params any, id any) *Message {
	return &Message{Kind: KindRequest, Method: method, Params: mustJSON(params), ID: mustJSON(id)}
}

// NewNotify builds a notification (id null).
func NewNotify(method string, params any) *Message {
	return &Message{Kind: KindNotify, Method: method, Params: mustJSON(params)}
}

// NewReply builds a successful reply to the request with the given raw id.
func NewReply(id json.RawMessage, result any) *Message {
	r, ok := result.(json.RawMessage)
	if !ok {
		r = mustJSON(result)
	}
	return &Message{Kind: KindReply, Result: r, ID: id}
}

// NewError builds an error reply to the request with the given raw id.
func NewError(id json.RawMessage, errValue any) *Message {
	r, ok := errValue.(json.RawMessage)
	if !ok {
		r = mustJSON(errValue)
	}
	return &Message{Kind: KindError, Error: r, ID: id}
}
