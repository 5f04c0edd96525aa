//go:build !linux

package server

import (
	"errors"
	"net"
)

// sockConn exists only on Linux; elsewhere sessions keep Go's net.Conn.
type sockConn struct{}

func newSockConn(net.Conn) (*sockConn, error) { return nil, errors.New("sockconn: Linux only") }

func (*sockConn) Read([]byte) (int, error)  { return 0, errors.ErrUnsupported }
func (*sockConn) Write([]byte) (int, error) { return 0, errors.ErrUnsupported }
func (*sockConn) Close() error              { return nil }
func (*sockConn) tryWrite([]byte) int       { return 0 }
