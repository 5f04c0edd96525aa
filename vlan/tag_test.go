package vlan

import (
	"bytes"
	"testing"

	"github.com/gvswitch/gvswitch/internal/pkttest"
)

var (
	srcMAC = pkttest.MustMAC("02:00:00:00:00:01")
	dstMAC = pkttest.MustMAC("02:00:00:00:00:02")
)

func frame(tags ...pkttest.VLAN) []byte {
	return pkttest.Frame(pkttest.Eth{Src: srcMAC, Dst: dstMAC, Type: pkttest.TypeIPv4, VLANs: tags, NoPad: true},
		[]byte{0x45, 0, 0, 20, 1, 2, 3, 4})
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame []byte
		tags  [2]Tag
		n     int
		et    uint16
		ok    bool
	}{
		{"untagged", frame(), [2]Tag{}, 0, 0x0800, true},
		{"c-tag", frame(pkttest.VLAN{VID: 10, PCP: 3}), [2]Tag{{0x8100, MakeTCI(3, 10)}}, 1, 0x0800, true},
		{"s+c", frame(pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10}),
			[2]Tag{{0x88a8, 100}, {0x8100, 10}}, 2, 0x0800, true},
		{"three tags", frame(pkttest.VLAN{TPID: 0x88a8, VID: 1}, pkttest.VLAN{VID: 2}, pkttest.VLAN{VID: 3}),
			[2]Tag{{0x88a8, 1}, {0x8100, 2}}, 2, 0x8100, true},
		{"runt", []byte{1, 2, 3}, [2]Tag{}, 0, 0, false},
		{"cut tag", frame(pkttest.VLAN{VID: 10})[:16], [2]Tag{}, 0, 0x8100, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tags, n, et, ok := Parse(tt.frame)
			if tags != tt.tags || n != tt.n || et != tt.et || ok != tt.ok {
				t.Errorf("got %v %d %#x %v, want %v %d %#x %v", tags, n, et, ok, tt.tags, tt.n, tt.et, tt.ok)
			}
		})
	}
}

func TestPushPopSet(t *testing.T) {
	plain := frame()
	tagged := frame(pkttest.VLAN{VID: 10, PCP: 5})
	qinq := frame(pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10, PCP: 5})

	// InsertTag into headroom.
	buf := append(make([]byte, 4), plain...)
	if !InsertTag(buf, 0x8100, MakeTCI(5, 10)) || !bytes.Equal(buf, tagged) {
		t.Fatalf("InsertTag: %x", buf)
	}
	buf = append(make([]byte, 4), tagged...)
	if !InsertTag(buf, 0x88a8, 100) || !bytes.Equal(buf, qinq) {
		t.Fatalf("InsertTag S-tag: %x", buf)
	}
	if got := AppendPush(nil, plain, 0x8100, MakeTCI(5, 10)); !bytes.Equal(got, tagged) {
		t.Fatalf("AppendPush: %x", got)
	}

	// RemoveTag in place.
	buf = append([]byte(nil), qinq...)
	if !RemoveTag(buf) || !bytes.Equal(buf[4:], tagged) {
		t.Fatalf("RemoveTag: %x", buf[4:])
	}
	buf = append([]byte(nil), plain...)
	if RemoveTag(buf) || !bytes.Equal(buf, plain) {
		t.Fatal("RemoveTag changed an untagged frame")
	}
	if got := AppendPop(nil, tagged); !bytes.Equal(got, plain) {
		t.Fatalf("AppendPop: %x", got)
	}
	if got := AppendPop(nil, plain); !bytes.Equal(got, plain) {
		t.Fatalf("AppendPop untagged: %x", got)
	}

	// SetTCI: VID only, keeping PCP.
	buf = append([]byte(nil), tagged...)
	if !SetTCI(buf, 20, VIDMask) || !bytes.Equal(buf, frame(pkttest.VLAN{VID: 20, PCP: 5})) {
		t.Fatalf("SetTCI: %x", buf)
	}
	if SetTCI(append([]byte(nil), plain...), 1, 0) {
		t.Fatal("SetTCI on untagged frame")
	}
}

func TestTagAllocs(t *testing.T) {
	f := frame(pkttest.VLAN{VID: 10})
	buf := append(make([]byte, 4), f...)
	n := testing.AllocsPerRun(100, func() {
		Parse(f)
		InsertTag(buf, 0x8100, 10)
		RemoveTag(buf)
		SetTCI(f, 10, VIDMask)
	})
	if n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(frame())
	f.Add(frame(pkttest.VLAN{VID: 10}))
	f.Add(frame(pkttest.VLAN{TPID: 0x88a8, VID: 100}, pkttest.VLAN{VID: 10}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tags, n, _, ok := Parse(b)
		if ok && len(b) < EthHeaderSize+n*TagSize {
			t.Fatalf("parsed %d tags from %d bytes", n, len(b))
		}
		for i := n; i < 2; i++ {
			if tags[i].Present() {
				t.Fatal("tag beyond n")
			}
		}
		c := append([]byte(nil), b...)
		if RemoveTag(c) {
			// Popping then pushing the same tag restores the frame.
			if n == 0 {
				t.Fatal("removed a tag Parse did not see")
			}
			if !InsertTag(c, tags[0].TPID, tags[0].TCI) || !bytes.Equal(c, b) {
				t.Fatal("pop+push is not the identity")
			}
		}
		SetTCI(c, 1, 0)
		AppendPush(nil, b, 0x8100, 1)
		AppendPop(nil, b)
	})
}
