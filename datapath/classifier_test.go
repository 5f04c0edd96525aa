package datapath

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
)

func TestClassifierRank(t *testing.T) {
	dp, _ := testDP(t, 1, Options{})
	var k1, k2 FlowKey
	ExtractFrame(udpFrame(1, 2, 1, 1), 1, &k1)
	ExtractFrame(udpFrame(3, 4, 1, 1), 1, &k2)
	m1, m2 := l2Mask(), l2Mask()
	m2.TpDst = ExactU16
	if err := dp.FlowPut(&k1, &m1, nil); err != nil {
		t.Fatal(err)
	}
	if err := dp.FlowPut(&k2, &m2, nil); err != nil {
		t.Fatal(err)
	}
	dp.mu.Lock()
	c := dp.cls[1]
	dp.mu.Unlock()
	if f, visited := c.lookup(keyWords(&k2)); f == nil || visited != 2 {
		t.Fatalf("before ranking: flow %v after %d subtables", f != nil, visited)
	}
	(*c.subs.Load())[1].hits.Add(10)
	c.rank()
	if f, visited := c.lookup(keyWords(&k2)); f == nil || visited != 1 {
		t.Fatalf("after ranking: flow %v after %d subtables", f != nil, visited)
	}
	if c.masks() != 2 {
		t.Fatalf("masks %d", c.masks())
	}
}

func TestClassifierGrowAndTombstones(t *testing.T) {
	dp, _ := testDP(t, 1, Options{})
	m := l2Mask()
	const n = 5000
	keys := make([]FlowKey, n)
	for i := range keys {
		ExtractFrame(flowFrame(i), 1, &keys[i])
		if err := dp.FlowPut(&keys[i], &m, Actions{Output(uint32(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// Delete every other flow, then check every lookup.
	for i := 0; i < n; i += 2 {
		if err := dp.FlowDel(&keys[i], &m); err != nil {
			t.Fatal(err)
		}
	}
	dp.mu.Lock()
	c := dp.cls[1]
	dp.mu.Unlock()
	for i := range keys {
		f, _ := c.lookup(keyWords(&keys[i]))
		if (f != nil) != (i%2 == 1) {
			t.Fatalf("flow %d: found %v", i, f != nil)
		}
		if f != nil && f.prog.Load().acts[0].Port != uint32(i) {
			t.Fatalf("flow %d: wrong flow", i)
		}
	}
	if got := dp.Stats().Flows; got != n/2 {
		t.Fatalf("flows %d", got)
	}
}

// TestConcurrentTrafficAndWriters runs traffic on two ports while another
// goroutine installs, revalidates, sweeps and flushes; run it with -race.
func TestConcurrentTrafficAndWriters(t *testing.T) {
	dp, ports := testDP(t, 2, Options{EMCInsertInvProb: 2})
	for _, p := range ports {
		p.SetCapture(false)
	}
	dp.SetUpcallHandler(&floodHandler{dp: dp, mask: l2Mask()})
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m := l2Mask()
		for i := 0; !stop.Load(); i++ {
			var k FlowKey
			ExtractFrame(flowFrame(i%64), 1+uint32(i%2), &k)
			_ = dp.FlowPut(&k, &m, Actions{Output(1 + uint32(i+1)%2)})
			switch i % 50 {
			case 10:
				dp.Revalidate(func(f *FlowEntry) (Actions, bool) { return f.Actions, f.Key.EthSrc[5]%3 != 0 })
			case 20:
				dp.Sweep()
			case 30:
				dp.FlowFlush()
			case 40:
				_ = dp.FlowDump()
			}
		}
	}()
	frames := make([][]byte, 64)
	for i := range frames {
		frames[i] = flowFrame(i)
	}
	const rounds = 20
	for r := 0; r < rounds; r++ {
		ports[0].Inject(frames...)
		ports[1].Inject(frames...)
	}
	for _, p := range ports {
		if !p.WaitDrained(10 * time.Second) {
			t.Fatal("ports did not drain")
		}
	}
	stop.Store(true)
	wg.Wait()
	s := waitStats(t, dp, "all lookups", func(s Stats) bool { return s.Hit+s.Missed == 2*rounds*64 })
	if s.Lost != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestPortChurn adds and deletes an output port many times while port 1
// forwards to it at full speed: no panic, no race, no leaked goroutine.
func TestPortChurn(t *testing.T) {
	dp, ports := testDP(t, 2, Options{})
	ports[1].SetCapture(false)
	dp.SetUpcallHandler(&floodHandler{dp: dp, mask: l2Mask()})
	ports[0].SetRepeat([][]byte{udpFrame(1, 2, 3, 4), udpFrame(5, 6, 7, 8)})
	defer ports[0].SetRepeat(nil)
	for i := 0; i < 30; i++ {
		p := dummy.New("churn")
		p.SetCapture(false)
		no, err := dp.AddPort("churn", p, 3)
		if err != nil {
			t.Fatal(err)
		}
		// Flood flows installed before the port existed do not reach it:
		// revalidate as ofproto would.
		dp.FlowFlush()
		deadline := time.Now().Add(5 * time.Second)
		for p.Stats().TxPackets == 0 {
			if time.Now().After(deadline) {
				t.Fatal("churn port got no traffic")
			}
			time.Sleep(time.Millisecond)
		}
		if err := dp.DelPort(no); err != nil {
			t.Fatal(err)
		}
	}
	if s := dp.Stats(); s.Hit == 0 || s.Lost != 0 {
		t.Fatalf("stats %+v", s)
	}
}
