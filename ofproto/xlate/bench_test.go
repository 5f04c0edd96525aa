package xlate

import (
	"testing"

	"github.com/gvswitch/gvswitch/datapath"
)

// benchConfig is a bridge with 16 trunk ports and 16 access ports in VLAN
// 10, the LOCAL port, and 1000 learned MACs.
func benchConfig() *Config {
	var ports []ps
	for i := 1; i <= 16; i++ {
		ports = append(ports, ps{name: "t", of: uint32(i)})
		ports = append(ports, ps{name: "a", of: uint32(100 + i), mode: Access, tag: 10})
	}
	ports = append(ports, ps{name: "br0", of: LocalPort, dp: 1000})
	return config(bridge("br0", ports...))
}

func benchKeys(x *Xlate, b *testing.B) []*datapath.FlowKey {
	for i := 0; i < 1000; i++ {
		m := [6]byte{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)}
		if _, _, err := x.Upcall(key(uint32(1+i%16), m, bcast, "10"), nil); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([]*datapath.FlowKey, 1000)
	for i := range keys {
		src := [6]byte{0x53, 0x54, 0, 0, byte(i >> 8), byte(i)}
		dst := [6]byte{0x52, 0x54, 0, 0, byte((i + 7) % 1000 >> 8), byte((i + 7) % 1000)}
		keys[i] = key(uint32(101+i%16), src, dst, "-")
	}
	return keys
}

// BenchmarkUpcallNormal translates misses of known unicast flows from
// access ports to MACs learned on trunks (learn refresh + lookup + VLAN
// push), the common upcall.
func BenchmarkUpcallNormal(b *testing.B) {
	x := newX(b, nil, benchConfig())
	keys := benchKeys(x, b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		acts, _, _ := x.Upcall(keys[i%len(keys)], nil)
		if len(acts) != 2 {
			b.Fatalf("actions %s", acts)
		}
		i++
	}
}

// BenchmarkUpcallFlood translates broadcasts: 31 outputs with VLAN edits.
func BenchmarkUpcallFlood(b *testing.B) {
	x := newX(b, nil, benchConfig())
	k := key(1, mac(1), bcast, "10")
	b.ReportAllocs()
	for b.Loop() {
		x.Upcall(k, nil)
	}
}

// BenchmarkRevalidateFlow re-translates an installed unicast flow.
func BenchmarkRevalidateFlow(b *testing.B) {
	x := newX(b, nil, benchConfig())
	keys := benchKeys(x, b)
	acts, m, _ := x.Upcall(keys[0], nil)
	fe := installed(keys[0], acts, m, x.now())
	b.ReportAllocs()
	for b.Loop() {
		x.RevalidateFlow(fe)
	}
}

// TestUpcallAllocs backs the claim in Upcall's doc: a unicast translation
// allocates only the returned action list.
func TestUpcallAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	x := newX(t, nil, threePorts())
	upcall(t, x, key(12, mac(2), bcast, "-"))
	k := key(11, mac(1), mac(2), "-")
	upcall(t, x, k)
	if n := testing.AllocsPerRun(200, func() { x.Upcall(k, nil) }); n > 1 {
		t.Fatalf("Upcall allocates %v times per call, want <= 1", n)
	}
}
