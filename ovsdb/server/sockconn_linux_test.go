package server

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// sockPair returns a sockConn for the server side of a unix connection and
// the client side as an ordinary net.Conn.
func sockPair(t *testing.T) (*sockConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newSockConn(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return sc, client
}

func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

func TestSockConnReadWaitsForInputAndSeesEOF(t *testing.T) {
	sc, client := sockPair(t)
	go func() {
		time.Sleep(20 * time.Millisecond) // the Read below waits in the poller first
		client.Write([]byte("hello"))
		client.Close()
	}()
	buf := make([]byte, 16)
	var got []byte
	within(t, "Read", func() {
		for {
			n, err := sc.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("Read: %v, want io.EOF", err)
				}
				return
			}
		}
	})
	if string(got) != "hello" {
		t.Errorf("read %q, want hello", got)
	}
}

func TestSockConnCloseWakesReadAndWrite(t *testing.T) {
	sc, client := sockPair(t)
	_ = client // never reads: the socket fills up
	// Fill the socket without waiting, then a Write has to wait for room.
	chunk := make([]byte, 64<<10)
	for sc.tryWrite(chunk) == len(chunk) {
	}
	readErr, writeErr := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 16))
		readErr <- err
	}()
	go func() {
		_, err := sc.Write(chunk)
		writeErr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	within(t, "Close", func() { sc.Close() })
	for name, ch := range map[string]chan error{"Read": readErr, "Write": writeErr} {
		select {
		case err := <-ch:
			if err == nil {
				t.Errorf("%s after Close: no error", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting after Close", name)
		}
	}
	if n := sc.tryWrite([]byte("x")); n != 0 {
		t.Errorf("tryWrite after Close wrote %d bytes", n)
	}
}

func TestSockConnWriteWaitsForRoom(t *testing.T) {
	sc, client := sockPair(t)
	chunk := make([]byte, 64<<10)
	for sc.tryWrite(chunk) == len(chunk) {
	}
	total := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, client)
		total <- n
	}()
	big := make([]byte, 1<<20)
	within(t, "Write", func() {
		if n, err := sc.Write(big); err != nil || n != len(big) {
			t.Errorf("Write = %d, %v; want %d, nil", n, err, len(big))
		}
	})
	sc.Close()
	if n := <-total; n < int64(len(big)) {
		t.Errorf("client read %d bytes, want at least %d", n, len(big))
	}
}
