package nettest

import (
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"
)

// Pattern returns n bytes of a fixed, non-repeating-per-page pattern.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}

// TCPTransfer sends size bytes of Pattern from namespace a to a listener on
// addr in namespace b, and fails t unless all of them arrive intact. It
// returns how long the transfer took.
func TCPTransfer(t testing.TB, a, b *NS, addr string, size int) time.Duration {
	t.Helper()
	var ln net.Listener
	b.Do(t, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	defer ln.Close()
	type result struct {
		n   int64
		sum []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		h := sha256.New()
		n, err := io.Copy(h, c)
		res <- result{n, h.Sum(nil), err}
	}()
	var c net.Conn
	a.Do(t, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	})
	data := Pattern(size)
	start := time.Now()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, werr := c.Write(data)
	_ = c.Close()
	r := <-res
	d := time.Since(start)
	if werr != nil {
		t.Fatalf("tcp write: %v", werr)
	}
	if r.err != nil {
		t.Fatalf("tcp receive: %v", r.err)
	}
	want := sha256.Sum256(data)
	if r.n != int64(size) || string(r.sum) != string(want[:]) {
		t.Fatalf("tcp received %d bytes (want %d), intact %v", r.n, size, string(r.sum) == string(want[:]))
	}
	return d
}
