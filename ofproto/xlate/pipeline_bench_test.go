package xlate

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
	"github.com/gvswitch/gvswitch/internal/pkttest"
)

// benchHost is the MAC of the host on port p of the pipeline benchmark.
func benchHost(p int) [6]byte { return [6]byte{0x02, 0xbb, 0, 0, 0, byte(p)} }

// benchSrc is the i-th source MAC of the generator on port 1, as trafgen's
// dinc counter over the whole address makes them (bench/workloads_linux.go).
func benchSrc(i int) [6]byte {
	return [6]byte{0x02, 0x10, 0, byte(i >> 16), byte(i >> 8), byte(i)}
}

func benchFrame(src, dst [6]byte, i int) []byte {
	return pkttest.UDP4(pkttest.Eth{Src: src, Dst: dst},
		pkttest.IPv4{Src: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			Dst: netip.MustParseAddr("10.0.0.2")},
		pkttest.UDP{Src: uint16(1024 + i%64000), Dst: 9, Payload: make([]byte, 22)})
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNormalPipeline is gvsbench's UDP workload in process: a bridge
// of four dummy ports with NORMAL and the default MAC table (8192 entries),
// the hosts on ports 2-4 learned, and port 1 receiving, as fast as its
// poll goroutine takes them, 64-byte UDP frames to port 2's host from
// `flows` source MACs in round robin (as trafgen's dinc sends them). The
// datapath, the translator and its revalidator (1 s period, as gvswitchd
// runs it) all run. After a warm-up of two rounds over the flows, one op is
// one frame received on port 1; the benchmark reports frames per second
// received and delivered to port 2, CPU time per frame (all goroutines), how
// many frames were flooded (copies out of port 3 per frame) and how many
// went to the slow path (upcalls per frame).
func BenchmarkNormalPipeline(b *testing.B) {
	for _, n := range []int{1, 1000, 100000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			benchPipeline(b, n)
		})
	}
}

// benchBridge builds the benchmarks' bridge: br0 with dummy ports p1-p4 as
// OpenFlow ports 1-4 (ports[1]..ports[4]; they keep no copies of what they
// send) on a datapath made with opts, translated by an Xlate that handles
// its upcalls. The datapath is closed when b ends.
func benchBridge(b *testing.B, opts datapath.Options) (*datapath.Datapath, []*dummy.Port, *Xlate) {
	b.Helper()
	cfg := config(bridge("br0", ps{name: "p1", of: 1}, ps{name: "p2", of: 2},
		ps{name: "p3", of: 3}, ps{name: "p4", of: 4}))
	dp, err := datapath.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dp.Close() })
	ports := make([]*dummy.Port, 5)
	for i := 1; i <= 4; i++ {
		ports[i] = dummy.New(fmt.Sprintf("p%d", i))
		ports[i].SetCapture(false)
		if _, err := dp.AddPort(ports[i].Name(), ports[i], uint32(i)); err != nil {
			b.Fatal(err)
		}
	}
	x := New()
	x.Publish(cfg)
	dp.SetUpcallHandler(x)
	return dp, ports, x
}

func benchPipeline(b *testing.B, flows int) {
	dp, ports, x := benchBridge(b, datapath.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.RunRevalidator(ctx, dp, time.Second); close(done) }()
	defer func() { cancel(); <-done }()

	// The hosts on ports 2-4 announce themselves.
	for p := 2; p <= 4; p++ {
		ports[p].Inject(benchFrame(benchHost(p), bcast, 0))
	}
	deadline := time.Now().Add(5 * time.Second)
	for dp.Stats().Missed < 3 {
		if time.Now().After(deadline) {
			b.Fatal("hosts not learned")
		}
		time.Sleep(time.Millisecond)
	}
	frames := make([][]byte, flows)
	for i := range frames {
		frames[i] = benchFrame(benchSrc(i), benchHost(2), i)
	}
	rx := func() uint64 { return ports[1].Stats().RxPackets }
	ports[1].SetRepeat(frames)
	defer ports[1].SetRepeat(nil)
	// Warm up: every flow seen twice.
	warm := rx() + uint64(2*flows) + 1000
	for rx() < warm {
		time.Sleep(time.Millisecond)
	}
	s0 := dp.Stats()
	rx0, tx20, tx30 := rx(), ports[2].Stats().TxPackets, ports[3].Stats().TxPackets
	cpu0 := processCPU()
	b.ResetTimer()
	for rx()-rx0 < uint64(b.N) {
		time.Sleep(200 * time.Microsecond)
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	s1 := dp.Stats()
	got := float64(rx() - rx0)
	tx2 := float64(ports[2].Stats().TxPackets - tx20)
	tx3 := float64(ports[3].Stats().TxPackets - tx30)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(got/sec/1e6, "rx-Mpps")
	b.ReportMetric(tx2/sec/1e6, "tx-Mpps")
	b.ReportMetric(float64(cpu.Nanoseconds())/got, "cpu-ns/pkt")
	b.ReportMetric(tx3/got, "flooded/pkt")
	b.ReportMetric(float64(s1.Missed-s0.Missed)/got, "upcalls/pkt")
	b.ReportMetric(float64(s1.Flows), "flows")
	b.ReportMetric(0, "ns/op")
}
