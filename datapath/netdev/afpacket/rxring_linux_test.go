package afpacket

import (
	"bytes"
	"testing"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// fakeBlock builds one ring block holding frames laid out as the kernel
// does, with VLAN info on odd frames.
func fakeBlock(size int, frames [][]byte) []byte {
	blk := make([]byte, size)
	ne.PutUint32(blk[blkStatusOff:], tpStatusUser)
	ne.PutUint32(blk[blkNumPktsOff:], uint32(len(frames)))
	ne.PutUint32(blk[blkFirstPktOff:], blkDescSize)
	off := blkDescSize
	for i, f := range frames {
		h := blk[off:]
		mac := pktHdrSize + 32 + offload.VnetHdrSize
		ne.PutUint32(h[pktSnaplenOff:], uint32(len(f)))
		ne.PutUint32(h[pktLenOff:], uint32(len(f)))
		ne.PutUint16(h[pktMacOff:], uint16(mac))
		if i%2 == 1 {
			ne.PutUint32(h[pktStatusOff:], 0x10) // TP_STATUS_VLAN_VALID
			ne.PutUint32(h[pktVlanTCIOff:], uint32(i))
		}
		copy(h[mac:], f)
		next := alignSlot(mac + len(f))
		if i < len(frames)-1 {
			ne.PutUint32(h[pktNextOff:], uint32(next))
		}
		off += next
	}
	return blk
}

func ringPort(blocks ...[]byte) *Port {
	p := &Port{mtu: 1500, caps: offload.CapsAll}
	p.ring.blocks = blocks
	size := 0
	for _, b := range blocks {
		size = max(size, len(b))
	}
	p.slab = make([]byte, packet.BatchSize*alignSlot(packet.Headroom+vlanTagSize+2048)+
		alignSlot(packet.Headroom+vlanTagSize+size))
	return p
}

func TestFillRing(t *testing.T) {
	var frames [][]byte
	for i := range 40 {
		f := make([]byte, 60+i)
		f[12], f[13] = 0x88, 0xb5
		f[14] = byte(i)
		frames = append(frames, f)
	}
	blk0 := fakeBlock(16<<10, frames[:30])
	blk1 := fakeBlock(16<<10, frames[30:])
	p := ringPort(blk0, blk1)
	var b packet.Batch
	p.fillRing(&b)
	if b.N != packet.BatchSize {
		t.Fatalf("first fill: %d frames, want %d", b.N, packet.BatchSize)
	}
	if loadStatus(blk0[blkStatusOff:]) != tpStatusKernel {
		t.Fatal("walked block not returned to the kernel")
	}
	check := func(pkts []*packet.Packet, first int) {
		t.Helper()
		for k, pkt := range pkts {
			i := first + k
			idx := i // index within its block decides the tag
			if i >= 30 {
				idx = i - 30
			}
			want := append([]byte(nil), frames[i][:12]...)
			if idx%2 == 1 {
				want = append(want, 0x81, 0x00, 0, byte(idx))
			}
			want = append(want, frames[i][12:]...)
			if !bytes.Equal(pkt.Data(), want) {
				t.Fatalf("frame %d:\n got % x\nwant % x", i, pkt.Data()[:20], want[:20])
			}
		}
	}
	check(b.Packets(), 0)
	b.Reset()
	p.fillRing(&b)
	if b.N != 8 {
		t.Fatalf("second fill: %d frames, want 8", b.N)
	}
	check(b.Packets(), 32)
	b.Reset()
	p.fillRing(&b)
	if b.N != 0 {
		t.Fatalf("third fill: %d frames from an empty ring", b.N)
	}
}

// FuzzFillRing feeds arbitrary block contents to the ring walk: corrupt
// offsets and lengths are counted as errors, never a panic or a hang.
func FuzzFillRing(f *testing.F) {
	f.Add(fakeBlock(4096, [][]byte{make([]byte, 60), make([]byte, 1514)})[:4096])
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, data []byte) {
		blk := make([]byte, 4096)
		copy(blk, data)
		ne.PutUint32(blk[blkStatusOff:], tpStatusUser)
		p := ringPort(blk)
		var b packet.Batch
		for range 3 {
			b.Reset()
			p.fillRing(&b)
			for _, pkt := range b.Packets() {
				_ = pkt.Data()
			}
		}
		if loadStatus(blk[blkStatusOff:]) != tpStatusKernel {
			t.Fatal("block never returned to the kernel")
		}
	})
}
