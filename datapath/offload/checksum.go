package offload

import (
	"encoding/binary"
	"math/bits"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

var be = binary.BigEndian

// Sum adds b to acc as the Internet checksum does (RFC 1071): a ones'
// complement sum of big-endian 16-bit words, an odd last byte padded with
// zero. b must start at an even offset of the checksummed data for the words
// to line up. The result is only meaningful after Fold.
//
// It adds 64-bit words with carry (2^64 = 1 mod 2^16-1, so the fold gives
// the same 16-bit sum); four words per round measured about 3x faster than a
// 16-bit loop.
func Sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, be.Uint64(b[0:8]), 0)
		acc, c = bits.Add64(acc, be.Uint64(b[8:16]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[16:24]), c)
		acc, c = bits.Add64(acc, be.Uint64(b[24:32]), c)
		acc, c = bits.Add64(acc, 0, c)
		acc += c
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, be.Uint64(b[0:8]), 0)
		acc += c
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(be.Uint32(b[0:4])), 0)
		acc += c
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(be.Uint16(b[0:2])), 0)
		acc += c
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += c
	}
	return acc
}

// Fold reduces a Sum accumulator to 16 bits (not complemented).
func Fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return uint16(acc)
}

// PseudoHeaderSum returns the Sum of the TCP/UDP pseudo-header for
// addresses src and dst (both 4 or both 16 bytes), protocol proto and an L4
// length of l4Size bytes.
func PseudoHeaderSum(src, dst []byte, proto uint8, l4Size int) uint64 {
	acc := Sum(src, 0)
	acc = Sum(dst, acc)
	return acc + uint64(proto) + uint64(uint32(l4Size))
}

// Checksum finishes a CHECKSUM_PARTIAL frame in place: when off has
// FlagNeedsCsum it sums frame[CsumStart:] (whose checksum field holds the
// pseudo-header sum, as the kernel leaves it) and stores the complement at
// CsumStart+CsumOffset. A result of zero is stored as 0xffff, which is the
// same value in ones' complement and is what UDP requires. It reports false,
// changing nothing, when the offsets do not fit the frame. A frame without
// FlagNeedsCsum is left alone and reported true.
func Checksum(frame []byte, off packet.Offload) bool {
	if off.Flags&FlagNeedsCsum == 0 {
		return true
	}
	start, field := int(off.CsumStart), int(off.CsumStart)+int(off.CsumOffset)
	if start >= len(frame) || field+2 > len(frame) {
		return false
	}
	c := ^Fold(Sum(frame[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	be.PutUint16(frame[field:], c)
	return true
}
