package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// parseReference is the encoding/json decoding Parse used to do: Parse must
// accept exactly the messages it accepts and extract the same members.
func parseReference(data []byte) (*Message, bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, false
	}
	m := &Message{}
	for k, v := range raw {
		switch k {
		case "method":
			if err := json.Unmarshal(v, &m.Method); err != nil {
				return nil, false
			}
		case "params":
			m.Params = v
		case "result":
			if !isNull(v) {
				m.Result = v
			}
		case "error":
			if !isNull(v) {
				m.Error = v
			}
		case "id":
			if !isNull(v) {
				m.ID = v
			}
		default:
			return nil, false
		}
	}
	if raw == nil {
		return nil, false
	}
	return m, true
}

func FuzzParseMatchesReference(f *testing.F) {
	for _, s := range []string{
		`{"method":"echo","params":[],"id":0}`,
		`{"result":{},"error":null,"id":3}`,
		`{"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[["a","==",-1.5e3]]}],"id":"x\u00e9"}`,
		`{"method":"x","params":[true,false,null,"\"\\\/\b\f\n\r\t"],"id":null}`,
		`{"method":null,"params":[1],"id":[]}`, `{ "id" : 1 , "result" : 0 }`, `{}`, `[]`, `{"a":01}`, `{"a":1.}`,
		`{"id":1,"id":null,"result":1}`, `{"method":"\ud800","params":[],"id":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, ok := parseReference(data)
		got, err := Parse(data)
		if !ok {
			// The reference rejected it (bad JSON or an unknown member):
			// Parse must too, unless only the classification differs.
			if err == nil {
				t.Fatalf("Parse accepted %q, reference rejected it", data)
			}
			return
		}
		if err != nil {
			// Valid JSON with known members: only the classification (a
			// request without params...) may fail, never the syntax.
			for _, syntax := range []string{"invalid character", "unexpected end", "max depth"} {
				if strings.Contains(err.Error(), syntax) {
					t.Fatalf("Parse rejected valid %q: %v", data, err)
				}
			}
			return
		}
		if got.Method != want.Method || !bytes.Equal(got.Params, want.Params) || !bytes.Equal(got.Result, want.Result) ||
			!bytes.Equal(got.Error, want.Error) || !bytes.Equal(got.ID, want.ID) {
			t.Fatalf("Parse(%q) = %+v, reference %+v", data, got, want)
		}
	})
}

func benchMessage(ports int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":1,"method":"transact","params":["Open_vSwitch"`)
	for i := range ports {
		fmt.Fprintf(&b, `,{"op":"insert","table":"Port","uuid-name":"p%d","row":{"name":"port%d","interfaces":["named-uuid","i%d"],"tag":%d}}`, i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkParse compares Parse with the encoding/json decoding it
// replaced, on a one-operation and a 1000-operation transact request.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1, 1000} {
		msg := benchMessage(n)
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ops=%d/encoding-json", n), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := parseReference(msg); !ok {
					b.Fatal("reference rejected")
				}
			}
		})
	}
}
