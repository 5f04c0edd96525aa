package unixctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gvswitch/gvswitch/jsonrpc"
)

// Client is a connection to a unixctl server.
type Client struct {
	conn *jsonrpc.Conn
	id   int
}

// ErrReply is wrapped by Call's error when the server answered with an
// error; the error text is the server's text.
var ErrReply = errors.New("server returned an error")

// ReplyError is the server's error text for one command.
type ReplyError struct{ Text string }

func (e *ReplyError) Error() string { return e.Text }

// Unwrap lets errors.Is(err, ErrReply) match.
func (e *ReplyError) Unwrap() error { return ErrReply }

// Dial connects to the socket at path (a plain path or "unix:PATH").
func Dial(path string, timeout time.Duration) (*Client, error) {
	c, err := jsonrpc.Dial(path, timeout)
	if err != nil {
		return nil, err
	}
	return &Client{conn: c}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SetDeadline bounds the next calls (zero time: no deadline).
func (c *Client) SetDeadline(t time.Time) error {
	if nc := c.conn.NetConn(); nc != nil {
		return nc.SetDeadline(t)
	}
	return nil
}

// Call runs command with args. A server-side error is returned as a
// *ReplyError; transport and protocol problems as other errors.
func (c *Client) Call(command string, args []string) (string, error) {
	if args == nil {
		args = []string{}
	}
	c.id++
	if err := c.conn.Write(jsonrpc.NewRequest(command, args, c.id)); err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	for {
		m, err := c.conn.Read()
		if err != nil {
			return "", fmt.Errorf("receive: %w", err)
		}
		switch m.Kind {
		case jsonrpc.KindReply:
			var s string
			if err := json.Unmarshal(m.Result, &s); err != nil {
				return "", fmt.Errorf("reply is not a string: %w", err)
			}
			return s, nil
		case jsonrpc.KindError:
			var s string
			if err := json.Unmarshal(m.Error, &s); err != nil {
				return "", fmt.Errorf("error reply is not a string: %w", err)
			}
			return "", &ReplyError{Text: s}
		}
		// Notifications are ignored, as ovs-appctl does.
	}
}
