package datapath

import (
	"errors"
	"testing"
	"time"
)

func TestIngressPolicing(t *testing.T) {
	r := newRig(t, Options{}, 1, 1)
	size := r.pkts[0].Len() * 8 // bits per packet
	run := func(now int64) (passed, dropped uint64) {
		before, beforeDrops := r.pmd.ctr.hit.Load(), r.pmd.ctr.policed.Load()
		r.fill()
		r.pmd.process(&r.batch, now)
		return r.pmd.ctr.hit.Load() - before, r.pmd.ctr.policed.Load() - beforeDrops
	}
	// 1000 kbit/s with an 8 kbit bucket: a full bucket holds 8000/size
	// packets; 1 ms later 1000 bits more have arrived.
	r.pmd.policing.Store(&Policing{RateKbps: 1000, BurstKb: 8, BurstKpkts: 16})
	t0 := int64(time.Second)
	full := uint64(8000 / size)
	if p, d := run(t0); p != full || d != 32-full {
		t.Fatalf("first batch: passed %d dropped %d, want %d", p, d, full)
	}
	if p, _ := run(t0 + int64(time.Millisecond)); p != uint64((8000-int(full)*size+1000)/size) {
		t.Fatalf("after 1 ms: passed %d", p)
	}
	// Packet rate: 1 kpps with a 1 kpkt bucket lets 1000 through, then one
	// per millisecond.
	r.pmd.policing.Store(&Policing{RateKpps: 1, BurstKpkts: 1, BurstKb: 8000})
	var passed uint64
	for i := 0; i < 40; i++ {
		p, _ := run(t0)
		passed += p
	}
	if passed != 1000 {
		t.Fatalf("kpps bucket passed %d", passed)
	}
	if p, _ := run(t0 + int64(3*time.Millisecond)); p != 3 {
		t.Fatalf("after 3 ms: passed %d", p)
	}
	// Off again: everything passes.
	r.pmd.policing.Store(nil)
	if p, d := run(t0); p != 32 || d != 0 {
		t.Fatalf("policing off: passed %d dropped %d", p, d)
	}
	if n := testing.AllocsPerRun(20, func() { r.run() }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func TestSetIngressPolicing(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	if err := dp.SetIngressPolicing(9, Policing{RateKbps: 1}); !errors.Is(err, ErrNoSuchPort) {
		t.Fatalf("unknown port: %v", err)
	}
	var k FlowKey
	f := udpFrame(1, 2, 3, 4)
	ExtractFrame(f, 1, &k)
	m := l2Mask()
	if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
		t.Fatal(err)
	}
	// A 1 kbit/s policer with an 8-kbit bucket passes about 8000/480 = 16
	// 60-byte frames of a burst of 100.
	if err := dp.SetIngressPolicing(1, Policing{RateKbps: 1, BurstKb: 8}); err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, 100)
	for i := range frames {
		frames[i] = f
	}
	ports[0].Inject(frames...)
	s := waitStats(t, dp, "policed", func(s Stats) bool { return s.Hit+s.PolicerDrops == 100 })
	if s.Hit < 16 || s.Hit > 18 {
		t.Fatalf("stats %+v", s)
	}
	if ps := dp.PMDStats(); ps[0].PolicerDrops != s.PolicerDrops {
		t.Fatalf("pmd stats %+v", ps[0])
	}
	if err := dp.SetIngressPolicing(1, Policing{}); err != nil {
		t.Fatal(err)
	}
}
