package ovsdb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"sync"
)

// UUID is a 128-bit universally unique identifier.
type UUID [16]byte

// ZeroUUID is the all-zeros UUID.
var ZeroUUID UUID

// uuidRNG is a ChaCha8 generator seeded from crypto/rand: unpredictable
// like crypto/rand, without a system call per UUID (a 1000-port
// transaction needs thousands).
var uuidRNG = func() struct {
	sync.Mutex
	r *mrand.ChaCha8
} {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails on Linux
	return struct {
		sync.Mutex
		r *mrand.ChaCha8
	}{r: mrand.NewChaCha8(seed)}
}()

// NewUUID returns a random (version 4) UUID.
func NewUUID() UUID {
	var u UUID
	uuidRNG.Lock()
	_, _ = uuidRNG.r.Read(u[:])
	uuidRNG.Unlock()
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

var errBadUUID = errors.New("bad uuid")

// ParseUUID parses the canonical 36-character form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errBadUUID
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, errBadUUID
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsUUID reports whether s is a UUID in canonical form.
func IsUUID(s string) bool {
	_, err := ParseUUID(s)
	return err == nil
}

// String returns the canonical lower-case form.
func (u UUID) String() string {
	var b [36]byte
	u.put(b[:])
	return string(b[:])
}

func (u UUID) put(b []byte) {
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
}

// appendUUID appends the canonical form of u to b.
func appendUUID(b []byte, u UUID) []byte {
	n := len(b)
	b = append(b, make([]byte, 36)...)
	u.put(b[n:])
	return b
}
