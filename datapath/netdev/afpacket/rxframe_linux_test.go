package afpacket

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/offload"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// framePort returns a port walking a fake frame ring of n frames of size
// bytes, starting at frame first, without a socket.
func framePort(n, size, first int) *Port {
	p := &Port{mtu: 1500, caps: offload.CapsAll, fd: -1}
	mem := make([]byte, n*size)
	for i := range n {
		p.fr.frames = append(p.fr.frames, mem[i*size:(i+1)*size:(i+1)*size])
	}
	p.fr.cur = first
	p.slab = make([]byte, packet.BatchSize*alignSlot(packet.Headroom+vlanTagSize+maxFrame))
	p.fill = p.fillFrames
	return p
}

// putFrame writes f into ring frame h as the kernel does, with a VLAN tag
// in the header when tci >= 0.
func putFrame(h, f []byte, tci int) {
	mac := 76 // TPACKET_ALIGN(52 + 16) + a virtio-net header, minus 14
	ne.PutUint32(h[v2LenOff:], uint32(len(f)))
	ne.PutUint32(h[v2SnaplenOff:], uint32(len(f)))
	ne.PutUint16(h[v2MacOff:], uint16(mac))
	status := uint32(tpStatusUser)
	if tci >= 0 {
		status |= unix.TP_STATUS_VLAN_VALID
		ne.PutUint16(h[v2VlanTCIOff:], uint16(tci))
	}
	copy(h[mac:], f)
	ne.PutUint32(h[v2StatusOff:], status)
}

func TestFillFrames(t *testing.T) {
	const n = 48
	p := framePort(n, 2048, n-5) // wraps after 5 frames
	var want [][]byte
	for i := range 40 {
		f := make([]byte, 60+i*30)
		f[12], f[13] = 0x88, 0xb5
		f[14] = byte(i)
		tci := -1
		w := f
		if i%3 == 1 {
			tci = i
			w = append(append(append([]byte(nil), f[:12]...), 0x81, 0, 0, byte(i)), f[12:]...)
		}
		want = append(want, w)
		putFrame(p.fr.frames[(n-5+i)%n], f, tci)
	}
	var b packet.Batch
	got := 0
	for _, wantN := range []int{packet.BatchSize, 8, 0} {
		b.Reset()
		p.fill(&b)
		if b.N != wantN {
			t.Fatalf("fill %d frames, want %d", b.N, wantN)
		}
		for _, pkt := range b.Packets() {
			if !bytes.Equal(pkt.Data(), want[got]) {
				t.Fatalf("frame %d:\n got % x\nwant % x", got, pkt.Data()[:20], want[got][:20])
			}
			if pkt.Headroom() < packet.Headroom {
				t.Fatalf("frame %d: headroom %d", got, pkt.Headroom())
			}
			got++
		}
	}
	for i, h := range p.fr.frames {
		if loadStatus(h) != tpStatusKernel {
			t.Fatalf("frame %d not returned to the kernel", i)
		}
	}
	if p.fr.cur != (n-5+40)%n {
		t.Fatalf("ring position %d, want %d", p.fr.cur, (n-5+40)%n)
	}
	if st := p.Stats(); st.RxPackets != 40 || st.RxDropped != 0 || st.RxErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFillFramesCopyLost: a TP_STATUS_COPY frame whose socket-queue copy
// cannot be read is a drop, and the walk goes on.
func TestFillFramesCopyLost(t *testing.T) {
	p := framePort(4, 2048, 0)
	f := make([]byte, 60)
	putFrame(p.fr.frames[0], f, -1)
	ne.PutUint32(p.fr.frames[0][v2StatusOff:], tpStatusUser|tpStatusCopy)
	putFrame(p.fr.frames[1], f, -1)
	var b packet.Batch
	p.fill(&b)
	if b.N != 1 || p.fr.cur != 2 {
		t.Fatalf("fill %d frames, position %d; want 1, 2", b.N, p.fr.cur)
	}
	if st := p.Stats(); st.RxDropped != 1 {
		t.Fatalf("stats %+v, want one drop", st)
	}
}

// FuzzFillFrames feeds arbitrary frame headers to the ring walk: corrupt
// lengths and offsets are counted, never a panic, and every frame goes
// back to the kernel.
func FuzzFillFrames(f *testing.F) {
	seed := make([]byte, 4*1024)
	putFrame(seed[:1024], make([]byte, 60), 5)
	putFrame(seed[1024:2048], make([]byte, 900), -1)
	f.Add(seed)
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := framePort(4, 1024, 0)
		for i, h := range p.fr.frames {
			if i*1024 < len(data) {
				copy(h, data[i*1024:])
			}
			ne.PutUint32(h[v2StatusOff:], ne.Uint32(h[v2StatusOff:])|tpStatusUser)
		}
		var b packet.Batch
		for range 3 {
			b.Reset()
			p.fill(&b)
			for _, pkt := range b.Packets() {
				_ = pkt.Data()
			}
		}
		for i, h := range p.fr.frames {
			if loadStatus(h)&tpStatusUser != 0 {
				t.Fatalf("frame %d never returned to the kernel", i)
			}
		}
	})
}
