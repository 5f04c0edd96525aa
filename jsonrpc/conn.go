package jsonrpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultMaxMessageSize bounds one incoming message. A 1000-port ovs-vsctl
// transaction is under 1 MiB; 64 MiB leaves room for whole-database dumps
// while stopping a peer that never closes its object.
const DefaultMaxMessageSize = 64 << 20

// ErrMessageTooLarge is returned by Read when a message exceeds the limit.
var ErrMessageTooLarge = errors.New("json-rpc message too large")

// Conn is a JSON-RPC connection over a byte stream. Read is for one goroutine
// at a time; Write may be called concurrently.
type Conn struct {
	rwc io.ReadWriteCloser
	r   *bufio.Reader

	// MaxMessageSize bounds incoming messages; zero means DefaultMaxMessageSize.
	MaxMessageSize int

	// BeforeRead, when set, is called by ReadRaw (and Read) on their
	// goroutine when nothing is buffered and they are about to read from the
	// stream, which may block: a server can finish work it held back while
	// more requests were waiting.
	BeforeRead func()

	wmu sync.Mutex
	buf []byte // framer scratch, reused between messages
}

// NewConn wraps a stream.
func NewConn(rwc io.ReadWriteCloser) *Conn {
	return &Conn{rwc: rwc, r: bufio.NewReaderSize(rwc, 64<<10)}
}

// Dial connects to an OVS-style address: "unix:PATH", "tcp:HOST:PORT", or a
// bare path.
func Dial(addr string, timeout time.Duration) (*Conn, error) {
	network, address, err := SplitAddress(addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return NewConn(c), nil
}

// SplitAddress turns an OVS remote ("unix:PATH", "tcp:IP:PORT", or a path)
// into a Go network and address.
func SplitAddress(addr string) (network, address string, err error) {
	switch {
	case len(addr) > 5 && addr[:5] == "unix:":
		return "unix", addr[5:], nil
	case len(addr) > 4 && addr[:4] == "tcp:":
		return "tcp", addr[4:], nil
	case len(addr) > 0 && addr[0] == '/':
		return "unix", addr, nil
	}
	return "", "", fmt.Errorf("unsupported address %q", addr)
}

// NetConn returns the underlying connection when it is a net.Conn.
func (c *Conn) NetConn() net.Conn {
	nc, _ := c.rwc.(net.Conn)
	return nc
}

// Buffered returns the number of bytes already read from the stream and not
// yet returned by ReadRaw or Read: more input that arrived with the last
// message (a client that sends requests ahead of their replies).
func (c *Conn) Buffered() int { return c.r.Buffered() }

// ReadRaw returns the bytes of the next JSON object on the stream. The slice
// is valid until the next call. Whitespace between objects is skipped.
// The object's end is found by counting brackets outside strings, a chunk of
// buffered input at a time; Parse checks the JSON itself.
func (c *Conn) ReadRaw() ([]byte, error) {
	limit := c.MaxMessageSize
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	c.buf = c.buf[:0]
	depth := 0
	inString, escaped := false, false
	for {
		n := c.r.Buffered()
		if n == 0 {
			if c.BeforeRead != nil {
				c.BeforeRead()
			}
			if _, err := c.r.Peek(1); err != nil {
				if err == io.EOF && len(c.buf) > 0 {
					return nil, fmt.Errorf("%w: connection closed inside a message", ErrProtocol)
				}
				return nil, err
			}
			n = c.r.Buffered()
		}
		chunk, _ := c.r.Peek(n)
		i := 0
		if len(c.buf) == 0 {
			for i < len(chunk) && isSpace(chunk[i]) {
				i++
			}
			if i == len(chunk) {
				_, _ = c.r.Discard(i)
				continue
			}
			if b := chunk[i]; b != '{' {
				_, _ = c.r.Discard(i + 1)
				return nil, fmt.Errorf("%w: message does not start with '{' (got %q)", ErrProtocol, b)
			}
		}
		start, end := i, -1
	scan:
		for ; i < len(chunk); i++ {
			b := chunk[i]
			if inString {
				switch {
				case escaped:
					escaped = false
				case b == '\\':
					escaped = true
				case b == '"':
					inString = false
				}
				continue
			}
			switch b {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					end = i + 1
					break scan
				}
			}
		}
		stop := i
		if end >= 0 {
			stop = end
		}
		if len(c.buf)+stop-start > limit {
			return nil, ErrMessageTooLarge
		}
		c.buf = append(c.buf, chunk[start:stop]...)
		_, _ = c.r.Discard(stop)
		if end >= 0 {
			return c.buf, nil
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// Read returns the next message. Errors wrapping ErrProtocol mean the peer
// broke the protocol; Open vSwitch drops such a session.
func (c *Conn) Read() (*Message, error) {
	raw, err := c.ReadRaw()
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Write sends one message atomically.
func (c *Conn) Write(m *Message) error {
	return c.WriteRaw(m.Marshal())
}

// WriteRaw sends pre-encoded message bytes atomically.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.rwc.Write(b)
	return err
}

// Close closes the stream.
func (c *Conn) Close() error { return c.rwc.Close() }
