package jsonrpc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

type rwc struct {
	io.Reader
	io.Writer
}

func (rwc) Close() error { return nil }

func newTestConn(in string) (*Conn, *bytes.Buffer) {
	var out bytes.Buffer
	return NewConn(rwc{strings.NewReader(in), &out}), &out
}

func TestReadClassifies(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind Kind
		err  bool
	}{
		{"request", `{"method":"echo","params":[],"id":0}`, KindRequest, false},
		{"notify", `{"method":"update","params":[null,{}],"id":null}`, KindNotify, false},
		{"reply", `{"result":{},"error":null,"id":3}`, KindReply, false},
		{"error", `{"result":null,"error":"unknown method","id":"x"}`, KindError, false},
		{"extra member", `{"jsonrpc":"2.0","method":"echo","params":[],"id":1}`, 0, true},
		{"params object", `{"method":"echo","params":{},"id":1}`, 0, true},
		{"null result", `{"result":null,"error":null,"id":1}`, 0, true},
		{"not json", `{"method":}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestConn(tt.in)
			m, err := c.Read()
			if tt.err {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("Read(%s) = %v, want ErrProtocol", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read(%s): %v", tt.in, err)
			}
			if m.Kind != tt.kind {
				t.Fatalf("kind %v, want %v", m.Kind, tt.kind)
			}
		})
	}
}

func TestStreamWithoutDelimiters(t *testing.T) {
	c, _ := newTestConn(`{"method":"a","params":["}{\"x"],"id":1}  {"method":"b","params":[[{}]],"id":2}` + "\n")
	for _, want := range []string{"a", "b"} {
		m, err := c.Read()
		if err != nil || m.Method != want {
			t.Fatalf("got %+v, %v; want method %s", m, err, want)
		}
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestMessageTooLarge(t *testing.T) {
	c, _ := newTestConn(`{"method":"a","params":["` + strings.Repeat("x", 1000) + `"],"id":1}`)
	c.MaxMessageSize = 100
	if _, err := c.Read(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("want ErrMessageTooLarge, got %v", err)
	}
}

func TestMarshalLikeOVS(t *testing.T) {
	id := []byte("7")
	tests := []struct {
		m    *Message
		want string
	}{
		{NewReply(id, []string{"a<b"}), `{"id":7,"result":["a<b"],"error":null}`},
		{NewError(id, "unknown method"), `{"id":7,"result":null,"error":"unknown method"}`},
		{NewNotify("update", []any{nil, map[string]any{}}), `{"id":null,"method":"update","params":[null,{}]}`},
		{NewRequest("echo", []any{}, 0), `{"id":0,"method":"echo","params":[]}`},
	}
	for _, tt := range tests {
		if got := string(tt.m.Marshal()); got != tt.want {
			t.Errorf("Marshal = %s, want %s", got, tt.want)
		}
		if _, err := Parse(tt.m.Marshal()); err != nil {
			t.Errorf("Parse(Marshal) = %v", err)
		}
	}
}

func TestConnOverSocket(t *testing.T) {
	a, b := net.Pipe()
	ca, cb := NewConn(a), NewConn(b)
	go func() { _ = ca.Write(NewRequest("echo", []string{"hi"}, 1)) }()
	m, err := cb.Read()
	if err != nil || m.Method != "echo" || string(m.Params) != `["hi"]` {
		t.Fatalf("got %+v %v", m, err)
	}
	_ = ca.Close()
	_ = cb.Close()
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		`{"method":"echo","params":[],"id":0}`,
		`{"result":{},"error":null,"id":3}{"method":"x","params":[1],"id":null}`,
		`{"method":"transact","params":["Open_vSwitch",{"op":"select","table":"Bridge","where":[]}],"id":12}`,
		`{"a":"\\\"}"}`, `[`, `{`, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := newTestConn(string(data))
		c.MaxMessageSize = 1 << 16
		for i := 0; i < 8; i++ {
			m, err := c.Read()
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, ErrProtocol) || errors.Is(err, ErrMessageTooLarge) {
					return
				}
				t.Fatalf("unexpected error class: %v", err)
			}
			if _, err := Parse(m.Marshal()); err != nil {
				t.Fatalf("re-parse of %s: %v", m.Marshal(), err)
			}
		}
	})
}

// TestBeforeRead: the hook runs only when ReadRaw has nothing buffered and
// must read from the stream, not between messages that arrived together.
func TestBeforeRead(t *testing.T) {
	c, _ := newTestConn(`{"method":"echo","params":[],"id":1} {"method":"echo","params":[],"id":2}`)
	calls := 0
	c.BeforeRead = func() { calls++ }
	for i, want := range []int{1, 1} {
		if _, err := c.ReadRaw(); err != nil {
			t.Fatal(err)
		}
		if calls != want {
			t.Fatalf("after message %d: %d calls, want %d", i+1, calls, want)
		}
	}
	if _, err := c.ReadRaw(); !errors.Is(err, io.EOF) {
		t.Fatalf("third read: %v", err)
	}
	if calls != 2 {
		t.Fatalf("%d calls before EOF, want 2", calls)
	}
}
