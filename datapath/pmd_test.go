package datapath

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath/netdev"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// rig drives a pmd's process function directly, without its goroutine,
// for benchmarks and allocation tests. Port 1 is the input, port 2 the
// output; neither captures frames. Like a NIC ring or AF_XDP UMEM, it
// reuses one batch of packet buffers: fill writes the next flows' MAC
// addresses into them, so that the benchmark measures the switch and not
// cache misses on 100k distinct frames.
type rig struct {
	dp    *Datapath
	pmd   *pmd
	flows int
	addrs [][12]byte // dst and src MAC of each flow
	pkts  []*packet.Packet
	batch packet.Batch
	next  int
}

// flowMACs are the addresses of flow i: an L2 mask tells flows apart.
func flowMACs(i int) (src, dst [6]byte) { return mac(i + 1), mac(0x8000 + i) }

// flowFrame is the frame of flow i.
func flowFrame(i int) []byte { return udpFrame(i+1, 0x8000+i, 1, 2) }

func newRig(tb testing.TB, opts Options, flows, subtables int) *rig {
	tb.Helper()
	opts.FlowLimit = max(opts.FlowLimit, 2*flows+1000)
	dp, ports := testDP(tb, 2, opts)
	for _, p := range ports {
		p.SetCapture(false)
	}
	dp.mu.Lock()
	c := dp.classifierLocked(1)
	dp.mu.Unlock()
	r := &rig{dp: dp, pmd: newPMD(dp, &dpPort{no: 1, port: dummy.New("bench")}, c), flows: flows}
	r.pmd.x.ports = dp.ports.Load()
	acts := Actions{Output(2)}
	// With fewer flows than subtables, idle flows (MACs the traffic never
	// uses) fill the remaining masks.
	for i := 0; i < max(flows, subtables); i++ {
		var k FlowKey
		ExtractFrame(flowFrame(i), 1, &k)
		if i >= flows {
			ExtractFrame(flowFrame(0x4000+i), 1, &k)
		}
		m := l2Mask()
		// Subtable j gets a distinct mask by also matching j bits of TpSrc.
		if j := i % subtables; j > 0 {
			m.TpSrc = uint16(1<<j - 1)
		}
		if err := dp.FlowPut(&k, &m, acts); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < flows; i++ {
		var a [12]byte
		src, dst := flowMACs(i)
		copy(a[:6], dst[:])
		copy(a[6:], src[:])
		r.addrs = append(r.addrs, a)
	}
	// Every buffer starts as the same frame; fill only rewrites the MACs,
	// so flow i has exactly one exact-match key.
	for i := 0; i < packet.BatchSize; i++ {
		r.pkts = append(r.pkts, packet.FromFrame(flowFrame(0)))
	}
	return r
}

// fill loads the next batch of packets, cycling through the flows. It
// writes 12 precomputed address bytes per packet; with one flow the buffers
// already hold it and fill writes nothing.
func (r *rig) fill() {
	r.batch.Reset()
	for _, p := range r.pkts {
		if r.flows > 1 {
			copy(p.Data()[0:12], r.addrs[r.next][:])
			r.next++
			if r.next == r.flows {
				r.next = 0
			}
		}
		r.batch.Add(p)
	}
}

func (r *rig) run() {
	r.fill()
	r.pmd.process(&r.batch, 1)
}

// cpuStart records the process CPU time when a benchmark's timed part
// begins; reportPerPacket turns the difference into cpu-ns/pkt.
var cpuStart time.Duration

func startCPU(b *testing.B) {
	b.ResetTimer()
	cpuStart = processCPU()
}

func reportPerPacket(b *testing.B) {
	b.StopTimer()
	pkts := float64(b.N * packet.BatchSize)
	ns := float64(b.Elapsed().Nanoseconds()) / pkts
	b.ReportMetric(ns, "ns/pkt")
	b.ReportMetric(1e3/ns, "Mpps")
	if cpuStart != 0 {
		b.ReportMetric(float64(processCPU()-cpuStart)/pkts, "cpu-ns/pkt")
	}
	b.ReportMetric(0, "ns/op")
}

var flowCounts = []int{1, 1000, 100000}

func flowName(n int) string {
	switch {
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("flows=%dk", n/1000)
	}
	return fmt.Sprintf("flows=%d", n)
}

// BenchmarkEMCHit measures the whole hit path (extract, EMC, grouping,
// stats, output batching, one Send per batch) with the EMC inserting
// always, and flows split over two masks so that the EMC is in use. At 100k flows the 8k-entry EMC cannot hold the flows; it then
// inserts with OVS's default 1/100 probability and the emc-hit% metric
// shows how much it still catches.
func BenchmarkEMCHit(b *testing.B) {
	for _, n := range flowCounts {
		b.Run(flowName(n), func(b *testing.B) {
			opts := Options{EMCInsertInvProb: 1}
			if n > DefaultEMCEntries {
				opts.EMCInsertInvProb = 0 // OVS's 1/100 default once the EMC cannot hold every flow
			}
			r := newRig(b, opts, n, 2) // two masks: see emcPolicy
			for range 2*n/packet.BatchSize + 1 {
				r.run() // warm the EMC
			}
			before := r.pmd.ctr.emcHits.Load()
			b.ReportAllocs()
			startCPU(b)
			for b.Loop() {
				r.run()
			}
			hits := r.pmd.ctr.emcHits.Load() - before
			reportPerPacket(b)
			b.ReportMetric(100*float64(hits)/float64(b.N*packet.BatchSize), "emc-hit%")
		})
	}
}

// BenchmarkMegaflowHit measures the hit path with the EMC disabled, so every
// packet goes through the classifier, with 1, 10 and 50 masks.
func BenchmarkMegaflowHit(b *testing.B) {
	for _, subs := range []int{1, 10, 50} {
		for _, n := range flowCounts {
			if n < subs {
				continue
			}
			b.Run(fmt.Sprintf("subtables=%d/%s", subs, flowName(n)), func(b *testing.B) {
				r := newRig(b, Options{EMCInsertInvProb: -1}, n, subs)
				b.ReportAllocs()
				startCPU(b)
				for b.Loop() {
					r.run()
				}
				reportPerPacket(b)
			})
		}
	}
}

// BenchmarkUpcall measures a miss: extraction, classifier miss, the upcall
// (a trivial handler), interning the actions, installing the megaflow and
// executing the packet, with 1, 1k and 100k flows already installed. Every
// packet is a new flow; ns/pkt is the upcall-to-installed-flow cost.
func BenchmarkUpcall(b *testing.B) {
	const maxNew = 1 << 15
	for _, n := range flowCounts {
		b.Run(flowName(n), func(b *testing.B) {
			r := newRig(b, Options{FlowLimit: n + 2*maxNew}, n, 2)
			acts := Actions{Output(2)}
			m := l2Mask()
			r.dp.SetUpcallHandler(UpcallFunc(func(*FlowKey, *packet.Packet) (Actions, Mask, error) {
				return acts, m, nil
			}))
			seq := uint32(0)
			b.ReportAllocs()
			startCPU(b)
			for b.Loop() {
				r.batch.Reset()
				for _, p := range r.pkts {
					// A new source MAC per packet: every packet misses.
					d := p.Data()
					seq++
					d[6], d[7], d[8], d[9], d[10], d[11] = 0x0a, byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq), 0
					r.batch.Add(p)
				}
				r.pmd.process(&r.batch, 1)
				if r.dp.nflows.Load() >= int64(n+maxNew) {
					b.StopTimer()
					pause := processCPU()
					r.dp.Revalidate(func(f *FlowEntry) (Actions, bool) { return f.Actions, f.Key.EthSrc[0] != 0x0a })
					runtime.GC() // collect the deleted flows here, not in the timed part
					cpuStart += processCPU() - pause
					b.StartTimer()
				}
			}
			reportPerPacket(b)
		})
	}
}

// TestHitPathAllocs backs the zero-allocation claim of the hit paths.
func TestHitPathAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		subs int
	}{
		{"emc", Options{EMCInsertInvProb: 1}, 2},
		{"megaflow", Options{EMCInsertInvProb: -1}, 4},
		{"megaflow+probabilistic emc", Options{}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.opts, 100, tc.subs)
			r.run()
			if n := testing.AllocsPerRun(50, r.run); n != 0 {
				t.Fatalf("%v allocs per batch", n)
			}
			s := &r.pmd.ctr
			if s.missed.Load() != 0 || s.hit.Load() == 0 {
				t.Fatalf("not a hit path: hits %d misses %d", s.hit.Load(), s.missed.Load())
			}
		})
	}
}

// TestHitPathAllocsWithCopies covers multi-output with per-output VLAN
// edits: copies come from the executor's pool once it is warm.
func TestHitPathAllocsWithCopies(t *testing.T) {
	r := newRig(t, Options{EMCInsertInvProb: 1}, 0, 1)
	for i := 0; i < 4; i++ {
		f := flowFrame(i)
		var k FlowKey
		ExtractFrame(f, 1, &k)
		m := l2Mask()
		acts := Actions{Output(2), PushVLAN(0x8100, 10), Output(2), PopVLAN()}
		if err := r.dp.FlowPut(&k, &m, acts); err != nil {
			t.Fatal(err)
		}
		r.pkts[i] = packet.FromFrame(f)
	}
	r.pkts = r.pkts[:4]
	r.run()
	if n := testing.AllocsPerRun(50, r.run); n != 0 {
		t.Fatalf("%v allocs per batch", n)
	}
}

// TestEMCPolicy checks that EMC lookups stop when they rarely hit (more
// flows than entries) and stay on when they do, and that one mask keeps
// the EMC off altogether.
func TestEMCPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flows  int
		subs   int
		wantOn bool
		wantIn bool // EMC in use at all
	}{
		{"fits", 32, 2, true, true},
		{"thrashes", 4096, 2, false, true},
		{"one mask", 32, 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{EMCEntries: 64, EMCInsertInvProb: 1}, tc.flows, tc.subs)
			for range 3 * emcWindow {
				r.run()
			}
			if r.pmd.emcOn != tc.wantOn || r.pmd.useEMC != tc.wantIn {
				t.Fatalf("emcOn %v useEMC %v, want %v %v", r.pmd.emcOn, r.pmd.useEMC, tc.wantOn, tc.wantIn)
			}
		})
	}
}

// BenchmarkPipeline runs the real poll goroutine on a dummy port that
// returns full batches forever (dummy.SetRepeat, one frame copy per packet
// as a NIC's DMA would do) and forwards to a second dummy port: Recv,
// extraction, caches, actions and Send, end to end on one core. One op is
// one packet.
func BenchmarkPipeline(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(flowName(n), func(b *testing.B) {
			dp, ports := testDP(b, 2, Options{})
			ports[1].SetCapture(false)
			frames := make([][]byte, n)
			m := l2Mask()
			for i := range frames {
				frames[i] = flowFrame(i)
				var k FlowKey
				ExtractFrame(frames[i], 1, &k)
				if err := dp.FlowPut(&k, &m, Actions{Output(2)}); err != nil {
					b.Fatal(err)
				}
			}
			base := ports[1].Stats().TxPackets
			b.ReportAllocs()
			startCPU(b)
			ports[0].SetRepeat(frames)
			for ports[1].Stats().TxPackets-base < uint64(b.N) {
				time.Sleep(200 * time.Microsecond)
			}
			ports[0].SetRepeat(nil)
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(1e3/ns, "Mpps")
			// The poll goroutine spins on the repeating port: CPU time per
			// packet is the cost on one core, whatever else runs.
			b.ReportMetric(float64(processCPU()-cpuStart)/float64(b.N), "cpu-ns/pkt")
		})
	}
}

// TestExecutorKeepsFewCopies: after a flush the executor keeps at most
// keepCopies packet copies for itself (the rest go to the shared pool), so
// a flood to a thousand ports does not leave every poll goroutine holding a
// thousand buffers.
func TestExecutorKeepsFewCopies(t *testing.T) {
	x := newExecutor()
	x.ports = &portTable{}
	frame := flowFrame(0)
	for range 1000 {
		x.copyFrame(frame)
	}
	x.flush()
	if len(x.free) != keepCopies || len(x.inUse) != 0 {
		t.Fatalf("after 1000 copies the executor keeps %d (in use %d), want %d", len(x.free), len(x.inUse), keepCopies)
	}
	for range 10 {
		x.copyFrame(frame)
	}
	x.flush()
	if len(x.free) != keepCopies {
		t.Fatalf("after 10 more copies the executor keeps %d, want %d", len(x.free), keepCopies)
	}
}

// TestFloodBoundsLiveCopies: a batch flooded to many ports sends the tx
// batches as copies accumulate, so no more than about maxLiveCopies are
// alive at once, and every port still gets each frame exactly once.
func TestFloodBoundsLiveCopies(t *testing.T) {
	const nports = 40
	x := newExecutor()
	x.ports = &portTable{byNo: make([]*dpPort, nports+1)}
	sinks := make([]*countingPort, nports+1)
	for no := 1; no <= nports; no++ {
		sinks[no] = &countingPort{}
		x.ports.byNo[no] = &dpPort{port: sinks[no]}
	}
	pkts := make([]*packet.Packet, packet.BatchSize)
	for i := range pkts {
		pkts[i] = packet.FromFrame(flowFrame(i))
	}
	peak := 0
	for no := uint32(1); no <= nports; no++ {
		x.output(no, pkts, true)
		peak = max(peak, len(x.inUse))
	}
	x.flush()
	if peak > maxLiveCopies+packet.BatchSize {
		t.Fatalf("%d copies alive at once, want at most %d", peak, maxLiveCopies+packet.BatchSize)
	}
	for no := 1; no <= nports; no++ {
		if sinks[no].pkts != packet.BatchSize || sinks[no].sends != 1 {
			t.Fatalf("port %d got %d frames in %d sends, want %d in 1", no, sinks[no].pkts, sinks[no].sends, packet.BatchSize)
		}
	}
}

// countingPort is a netdev.Port that counts what it is sent.
type countingPort struct{ sends, pkts int }

func (c *countingPort) Name() string               { return "count" }
func (c *countingPort) Recv(*packet.Batch) error   { return netdev.ErrClosed }
func (c *countingPort) Send(b *packet.Batch) error { c.sends++; c.pkts += b.N; return nil }
func (c *countingPort) BatchSize() int             { return packet.BatchSize }
func (c *countingPort) Stats() netdev.Stats        { return netdev.Stats{} }
func (c *countingPort) Close() error               { return nil }
