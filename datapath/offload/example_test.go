package offload

import (
	"fmt"

	"github.com/gvswitch/gvswitch/datapath/packet"
)

// A TSO frame from a port with virtio-net headers leaves through a port
// without them: split it into MSS-sized frames in a reusable buffer.
func ExampleSegment() {
	frame := build(nil, frameSpec{flags: "PA", seq: 1000, payload: payloadOf(4000)})
	h, _ := ParseHeaders(frame, 0, ProtoTCP)
	off := packet.Offload{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448,
		CsumStart: uint16(h.L4), CsumOffset: 16}
	scratch := make([]byte, 2048) // per port, allocated once
	n, ok := Segment(frame, off, scratch, func(seg []byte) {
		fmt.Println("segment of", len(seg), "bytes")
	})
	fmt.Println(n, ok)
	// Output:
	// segment of 1514 bytes
	// segment of 1514 bytes
	// segment of 1170 bytes
	// 3 true
}

// Decode the header the kernel put in front of a frame.
func ExampleParseVnetHdr() {
	hdr := []byte{1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0} // little-endian host
	off, ok := ParseVnetHdr(hdr)
	fmt.Println(ok, IsGSO(off), NeedsCsum(off), off.GSOSize, off.CsumStart)
	// Output: true true true 1448 34
}
