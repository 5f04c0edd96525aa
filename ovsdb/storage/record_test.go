package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func records(bodies ...string) []byte {
	var b []byte
	for _, s := range bodies {
		b = appendRecord(b, []byte(s))
	}
	return b
}

func TestAppendRecordFormat(t *testing.T) {
	// The length and SHA-1 cover the body and its line feed:
	// printf '{}\n' | sha1sum.
	got := string(appendRecord(nil, []byte(`{}`)))
	want := "OVSDB JSON 3 5f36b2ea290645ee34d943220a14b54ee5ea5be5\n{}\n"
	if got != want {
		t.Fatalf("record = %q, want %q", got, want)
	}
}

func TestScanRecords(t *testing.T) {
	good := records(`{"name":"s"}`, `{"T":{}}`, `{"U":{}}`)
	second := len(records(`{"name":"s"}`))
	third := len(records(`{"name":"s"}`, `{"T":{}}`))
	// A JSON string holding the text of a whole record (its line feeds
	// escaped, so it never starts a line).
	embedded := records(`{}`, `{"c":"x\nOVSDB JSON 3 5f36b2ea290645ee34d943220a14b54ee5ea5be5\n{}\n"}`)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name     string
		data     []byte
		bodies   int
		torn     bool
		corrupt  bool
		clusterd bool
	}{
		{name: "empty", data: nil},
		{name: "three", data: good, bodies: 3},
		{name: "torn header", data: good[:third+5], bodies: 2, torn: true},
		{name: "torn body", data: good[:len(good)-3], bodies: 2, torn: true},
		{name: "missing final lf", data: good[:len(good)-1], bodies: 2, torn: true},
		{name: "zero filled tail", data: append(bytes.Clone(good), make([]byte, 300)...), bodies: 3, torn: true},
		{name: "bad checksum last", data: flip(good, len(good)-4), bodies: 2, torn: true},
		{name: "bad checksum middle", data: flip(good, third-4), bodies: 1, corrupt: true},
		{name: "bad header middle", data: flip(good, second+2), bodies: 1, corrupt: true},
		{name: "bad length middle", data: bytes.Replace(good, []byte("JSON 9 "), []byte("JSON 99 "), 1), bodies: 1, corrupt: true},
		{name: "garbage after", data: append(bytes.Clone(good), "junk\nmore junk\n"...), bodies: 3, torn: true},
		{name: "zeroed header of last", data: append(append(bytes.Clone(good[:third]), make([]byte, 20)...), good[third+20:]...), bodies: 2, torn: true},
		{name: "zeroed header middle", data: append(append(bytes.Clone(good[:second]), make([]byte, 20)...), good[second+20:]...), bodies: 1, corrupt: true},
		{name: "long header", data: []byte(strings.Repeat("x", 200) + "\n"), torn: true},
		{name: "long header middle", data: append([]byte(strings.Repeat("x", 200)+"\n"), good...), corrupt: true},
		{name: "invalid json last", data: records(`{}`, `{"a":}`), bodies: 1, torn: true},
		{name: "invalid json middle", data: records(`{}`, `{"a":}`, `{}`), bodies: 1, corrupt: true},
		{name: "record-like text in torn body", data: embedded[:len(embedded)-3], bodies: 1, torn: true},
		{name: "clustered", data: []byte("OVSDB CLUSTER 3 5f36b2ea290645ee34d943220a14b54ee5ea5be5\n{}\n"), clusterd: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := scanRecords(tt.data)
			if got := errors.Is(err, ErrCorrupt); got != tt.corrupt {
				t.Fatalf("corrupt = %v (err %v), want %v", got, err, tt.corrupt)
			}
			if got := errors.Is(err, ErrClustered); got != tt.clusterd {
				t.Fatalf("clustered = %v (err %v), want %v", got, err, tt.clusterd)
			}
			if len(res.bodies) != tt.bodies {
				t.Errorf("%d bodies, want %d", len(res.bodies), tt.bodies)
			}
			if got := res.torn != ""; got != tt.torn {
				t.Errorf("torn = %q, want torn %v", res.torn, tt.torn)
			}
			if err == nil && !tt.torn && res.end != len(tt.data) {
				t.Errorf("end = %d, want %d", res.end, len(tt.data))
			}
		})
	}
}

func TestAppendCompact(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            bool
	}{
		{name: "white space", in: " { \"a\" : [ 1 , 2.50 ,\n true ] } ", want: `{"a":[1,2.50,true]}`},
		{name: "html not escaped", in: `"<a href=\u0022x\u0022>&amp;</a>"`, want: `"<a href=\"x\">&amp;</a>"`},
		{name: "go escapes undone", in: `"\u003c\u003e\u0026"`, want: `"<>&"`},
		{name: "ovs escapes", in: `"\b\f\n\r\t\u0001\u001F\"\\\/"`, want: `"\b\f\n\r\t\u0001\u001f\"\\/"`},
		{name: "unicode raw", in: `"\u00e9\u2028\ud83d\ude00 é"`, want: "\"\u00e9\u2028\U0001F600 é\""},
		{name: "del raw", in: "\"\x7f\"", want: "\"\x7f\""},
		{name: "nul", in: `"a\u0000"`, err: true},
		{name: "lone high surrogate", in: `"\ud83d"`, err: true},
		{name: "lone low surrogate", in: `"\ude00x"`, err: true},
		{name: "bad utf8", in: "\"\xff\"", err: true},
		{name: "invalid", in: `{"a"}`, err: true},
		{name: "two values", in: `1 2`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendCompact([]byte("x"), []byte(tt.in))
			if tt.err {
				if err == nil || string(got) != "x" {
					t.Fatalf("AppendCompact(%q) = %q, %v; want error, dst unchanged", tt.in, got, err)
				}
				return
			}
			if err != nil || string(got) != "x"+tt.want {
				t.Fatalf("AppendCompact(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzReadRecords feeds arbitrary file contents to the record reader: it
// must never panic, stay within the data, and return bodies that survive
// re-framing unchanged.
func FuzzReadRecords(f *testing.F) {
	f.Add(records(`{"name":"Open_vSwitch","version":"8.3.1","tables":{}}`, `{"_date":1,"T":{"0401ce54-b1e6-4441-a78e-7c79f3cca6ba":null}}`))
	f.Add(records(`{}`)[:10])
	f.Add([]byte("OVSDB JSON 99999999999999999999 0000000000000000000000000000000000000000\n"))
	f.Add([]byte("OVSDB CLUSTER 3 5f36b2ea290645ee34d943220a14b54ee5ea5be5\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := scanRecords(data)
		if res.end > len(data) || res.end < 0 {
			t.Fatalf("end %d outside data of %d bytes", res.end, len(data))
		}
		if err != nil && res.torn != "" {
			t.Fatalf("both error %v and torn %q", err, res.torn)
		}
		var again []byte
		for _, b := range res.bodies {
			if !json.Valid(b) {
				t.Fatalf("invalid json body %q", b)
			}
			again = appendRecord(again, b)
		}
		res2, err := scanRecords(again)
		if err != nil || res2.torn != "" || len(res2.bodies) != len(res.bodies) {
			t.Fatalf("re-framed records do not scan: %v %q", err, res2.torn)
		}
		for i := range res.bodies {
			if !bytes.Equal(res.bodies[i], res2.bodies[i]) {
				t.Fatalf("body %d changed: %q -> %q", i, res.bodies[i], res2.bodies[i])
			}
		}
		for _, b := range res.bodies {
			if c, err := AppendCompact(nil, b); err == nil {
				if !json.Valid(c) {
					t.Fatalf("AppendCompact(%q) = invalid %q", b, c)
				}
				if c2, err := AppendCompact(nil, c); err != nil || !bytes.Equal(c, c2) {
					t.Fatalf("AppendCompact not idempotent: %q -> %q (%v)", c, c2, err)
				}
			}
			if txn, err := ParseTxn(b); err == nil {
				if _, err := txn.AppendJSON(nil); err != nil && !strings.Contains(err.Error(), "encode") {
					t.Fatalf("AppendJSON error without context: %v", err)
				}
			}
		}
	})
}

// FuzzAppendCompact checks the OVS-style JSON writer: never panics, output
// is valid, idempotent and decodes to the same value as the input, and
// ParseTxn/AppendJSON agree on whatever parses as a transaction.
func FuzzAppendCompact(f *testing.F) {
	f.Add([]byte(`{"_date":1795630685958,"_comment":"a\nb","_is_diff":true,"T":{"` + uuidBr + `":{"c":["map",[["k","<&>\u2028"]]]}}}`))
	f.Add([]byte(` [ 1 , -2.5e+10 , "\ud83d\ude00\u001f\/" , null , {} ] `))
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := AppendCompact(nil, in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("AppendCompact(%q) = invalid %q", in, out)
		}
		if again, err := AppendCompact(nil, out); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q (%v)", out, again, err)
		}
		var a, b any
		da := json.NewDecoder(bytes.NewReader(in))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(out))
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("value changed: %q -> %q", in, out)
		}
		if txn, err := ParseTxn(out); err == nil {
			enc, err := txn.AppendJSON(nil)
			if err != nil {
				t.Fatalf("AppendJSON of parsed %q: %v", out, err)
			}
			if _, err := ParseTxn(enc); err != nil {
				t.Fatalf("ParseTxn(AppendJSON(%q)) = %v", enc, err)
			}
		}
	})
}
