package afpacket_test

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gvswitch/gvswitch/datapath/netdev/afpacket"
	"github.com/gvswitch/gvswitch/datapath/netdev/internal/nettest"
	"github.com/gvswitch/gvswitch/datapath/packet"
)

// fwdRig is generator -> [p0 switch p1] -> sink, with an afpacket port in
// the generator namespace blasting batches of frames.
type fwdRig struct {
	gen, p0, p1 *afpacket.Port
	frames      packet.Batch
}

func newFwdRig(tb testing.TB, frameSize int, opts afpacket.Options) *fwdRig {
	tb.Helper()
	sw := nettest.NewNS(tb)
	in := &rig{sw: sw, host: nettest.NewNS(tb), portName: "p" + nettest.Suffix()}
	nettest.Veth(tb, sw, in.portName, in.host, "eth0")
	out := &rig{sw: sw, host: nettest.NewNS(tb), portName: "p" + nettest.Suffix()}
	nettest.Veth(tb, sw, out.portName, out.host, "eth0")
	f := &fwdRig{p0: in.open(tb, opts), p1: out.open(tb, opts)}
	in.host.Do(tb, func() (err error) {
		f.gen, err = afpacket.Open("eth0", afpacket.Options{NoPromisc: true})
		return err
	})
	tb.Cleanup(func() { _ = f.gen.Close() })
	dst := out.host.MAC(tb, "eth0")
	for i := range packet.BatchSize {
		f.frames.Add(packet.FromFrame(testFrame(dst, -1, i, frameSize)))
	}
	return f
}

// BenchmarkAfpacketForward measures Recv on one port plus Send on another,
// per packet, with a generator port on the first veth's far end. On a
// 2-vCPU VM the generator and the forwarder share the CPUs with the
// kernel's veth work, so the figure is a floor.
func BenchmarkAfpacketForward(b *testing.B) {
	for _, mode := range modes {
		for _, size := range []int{60, 1514} {
			b.Run(mode.String()+"/"+map[int]string{60: "64B", 1514: "1518B"}[size], func(b *testing.B) {
				benchForward(b, mode, size)
			})
		}
	}
}

func benchForward(b *testing.B, mode afpacket.RxMode, size int) {
	f := newFwdRig(b, size, afpacket.Options{RxMode: mode})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := f.gen.Send(&f.frames); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	var batch packet.Batch
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; {
		if err := f.p0.Recv(&batch); err != nil {
			b.Fatal(err)
		}
		if err := f.p1.Send(&batch); err != nil {
			b.Fatal(err)
		}
		n += batch.N
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "pps")
	b.ReportMetric(float64(f.p0.Stats().RxDropped), "rxdrops")
}

func TestRecvSendNoAllocs(t *testing.T) {
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) { testNoAllocs(t, afpacket.Options{RxMode: m}) })
	}
	// A lazy port after its handover, checking its drop counter on every
	// receive with frames (for growing).
	t.Run("lazy", func(t *testing.T) {
		defer afpacket.SetGrowCheckEvery(afpacket.SetGrowCheckEvery(1))
		testNoAllocs(t, afpacket.Options{LazyRing: true})
	})
}

func testNoAllocs(t *testing.T, opts afpacket.Options) {
	f := newFwdRig(t, 60, opts)
	var batch packet.Batch
	// Warm up: first calls may grow the goroutine stack; a lazy port
	// takes its ring over.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 3 || opts.LazyRing && f.p0.RxMode() != afpacket.RxFrameRing && time.Now().Before(deadline); i++ {
		_ = f.gen.Send(&f.frames)
		_ = f.p0.Recv(&batch)
		_ = f.p1.Send(&batch)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := f.gen.Send(&f.frames); err != nil {
			t.Fatal(err)
		}
		if err := f.p0.Recv(&batch); err != nil {
			t.Fatal(err)
		}
		if err := f.p1.Send(&batch); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Send+Recv+Send allocates %v times per round", allocs)
	}
	if st := f.p0.Stats(); st.RxPackets == 0 {
		t.Fatalf("nothing received: %+v", st)
	}
}

// TestIperf3 runs iperf3 for 1 s between two namespaces joined through two
// ports with default offloads, and logs the rate.
func TestIperf3(t *testing.T) {
	nettest.RequireBinary(t, "iperf3")
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) { testIperf3(t, m) })
	}
}

func testIperf3(t *testing.T, mode afpacket.RxMode) {
	hostA, hostB, gso := bridge(t, afpacket.Options{RxMode: mode})
	bps, err := iperf3(hostA, hostB, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("iperf3 TCP through two afpacket ports (%v): %.2f Gb/s, %d GSO frames", mode, bps/1e9, gso.Load())
}

// iperf3 runs a TCP test of secs seconds from a to b (at 10.77.0.2) and
// returns the received rate in bits per second.
func iperf3(a, b *nettest.NS, secs int, extra ...string) (float64, error) {
	srv := make(chan error, 1)
	go func() {
		_, err := b.Exec(time.Duration(secs+18)*time.Second, "iperf3", "-s", "-1", "-B", "10.77.0.2")
		srv <- err
	}()
	type result struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			Sum struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum"`
		} `json:"end"`
		Error string `json:"error"`
	}
	var res result
	var out []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		out, err = a.Exec(time.Duration(secs+13)*time.Second, "iperf3", append([]string{"-c", "10.77.0.2", "-t", strconv.Itoa(secs), "-J"}, extra...)...)
		res = result{}
		if jerr := json.Unmarshal(out, &res); jerr != nil {
			<-srv
			return 0, fmt.Errorf("iperf3 client: %v, output: %v\n%s", err, jerr, out)
		}
		// Poll until the server listens: iperf3 reports that as an error.
		if !strings.Contains(res.Error, "refused") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	<-srv
	if res.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", res.Error)
	}
	bps := res.End.SumReceived.BitsPerSecond
	if bps == 0 {
		bps = res.End.Sum.BitsPerSecond
	}
	if bps == 0 {
		return 0, fmt.Errorf("iperf3 moved no data:\n%s", out)
	}
	return bps, nil
}

// pingRTTs pings 10.77.0.2 from a count times, interval apart, and returns
// the round trip times in milliseconds, sorted.
func pingRTTs(a *nettest.NS, count int, interval string) ([]float64, error) {
	out, err := a.Exec(30*time.Second, "ping", "-c", strconv.Itoa(count), "-i", interval, "-W", "2", "10.77.0.2")
	if err != nil {
		return nil, fmt.Errorf("ping: %w\n%s", err, out)
	}
	var rtts []float64
	for _, line := range strings.Split(string(out), "\n") {
		_, after, ok := strings.Cut(line, "time=")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(after, " ms"), 64)
		if err == nil {
			rtts = append(rtts, v)
		}
	}
	if len(rtts) == 0 {
		return nil, fmt.Errorf("no replies:\n%s", out)
	}
	sort.Float64s(rtts)
	return rtts, nil
}

// forwardPPS forwards frames of size bytes from a generator through p0 to
// p1 for d, and returns the forwarded rate and the forwarding thread's CPU
// time per packet in nanoseconds (user plus system, so the kernel work done
// in its system calls counts; softirq work elsewhere does not), which
// depends less on what else runs on the machine than the rate.
func forwardPPS(tb testing.TB, opts afpacket.Options, size int, d time.Duration) (pps, cpuNS float64) {
	f := newFwdRig(tb, size, opts)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := f.gen.Send(&f.frames); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	var batch packet.Batch
	// Warm up a little so every path is faulted in.
	for n := 0; n < 1000; n += batch.N {
		if err := f.p0.Recv(&batch); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var c0, c1 unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &c0)
	n, calls := 0, 0
	st0, gen0 := f.p0.Stats(), f.gen.Stats()
	start := time.Now()
	for time.Since(start) < d {
		if err := f.p0.Recv(&batch); err != nil {
			tb.Fatal(err)
		}
		if err := f.p1.Send(&batch); err != nil {
			tb.Fatal(err)
		}
		n += batch.N
		calls++
	}
	el := time.Since(start)
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &c1)
	st1, gen1 := f.p0.Stats(), f.gen.Stats()
	if n == 0 {
		return 0, 0
	}
	tb.Logf("%v: %d frames in %d Recvs (%.1f per Recv), generator sent %.0f kpps, port dropped %d", opts.RxMode, n, calls,
		float64(n)/float64(calls), float64(gen1.TxPackets-gen0.TxPackets)/el.Seconds()/1e3, st1.RxDropped-st0.RxDropped)
	return float64(n) / el.Seconds(), float64(c1.Nano()-c0.Nano()) / float64(n)
}

// cmpCase is one receive configuration in BenchmarkCompareModes.
type cmpCase struct {
	name  string
	mode  afpacket.RxMode
	batch int           // messages per recvmmsg, 0 for the default
	spin  time.Duration // Options.BusyPoll
	frame int           // Options.FrameSize (FrameCount keeps the ring at 8 MiB)
}

func (c cmpCase) opts() afpacket.Options {
	o := afpacket.Options{RxMode: c.mode, BusyPoll: c.spin}
	if c.frame > 0 {
		o.FrameSize, o.FrameCount = c.frame, 8<<20/c.frame
	}
	return o
}

var cmpCases = []cmpCase{
	{"framering", afpacket.RxFrameRing, 0, 0, 0},
	{"fr-nospin", afpacket.RxFrameRing, 0, -1, 0},
	{"fr-spin200", afpacket.RxFrameRing, 0, 200 * time.Microsecond, 0},
	{"fr-64k", afpacket.RxFrameRing, 0, 0, 65536 + 256},
	{"ring", afpacket.RxRing, 0, 0, 0},
	{"mmsg", afpacket.RxMmsg, 0, 0, 0},
	{"mmsg128", afpacket.RxMmsg, 128, 0, 0},
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkCompareModes measures every receive mode back to back, rounds
// times (env GVS_ROUNDS, default 3): median ping RTT at 20 pings 50 ms
// apart, iperf3 TCP for 2 s with default offloads, and 64-byte forwarding
// rate for 1 s. Run it with -benchtime=1x; the table goes to the log. On a
// shared 2-vCPU VM only back-to-back comparisons mean anything.
func BenchmarkCompareModes(b *testing.B) {
	nettest.RequireBinary(b, "iperf3")
	nettest.RequireBinary(b, "ping")
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("GVS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	cases := cmpCases
	if v := os.Getenv("GVS_MODES"); v != "" {
		cases = nil
		for _, c := range cmpCases {
			if strings.Contains(","+v+",", ","+c.name+",") {
				cases = append(cases, c)
			}
		}
	}
	type row struct{ rtt, gbps, kpps, cpu []float64 }
	rows := make(map[string]*row)
	for _, c := range cases {
		rows[c.name] = new(row)
	}
	for r := range rounds {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%v/%d", c.name, r), func(b *testing.B) {
				if c.batch > 0 {
					defer afpacket.SetMmsgBatch(afpacket.SetMmsgBatch(c.batch))
				}
				hostA, hostB, _ := bridge(b, c.opts())
				rtts, err := pingRTTs(hostA, 20, "0.05")
				if err != nil {
					b.Fatal(err)
				}
				bps, err := iperf3(hostA, hostB, 2)
				if err != nil {
					b.Fatal(err)
				}
				pps, cpu := forwardPPS(b, c.opts(), 60, time.Second)
				w := rows[c.name]
				w.rtt = append(w.rtt, median(rtts))
				w.gbps = append(w.gbps, bps/1e9)
				w.kpps = append(w.kpps, pps/1e3)
				w.cpu = append(w.cpu, cpu)
				b.Logf("%-10v rtt p50 %.3f ms (p90 %.3f)  tcp %.2f Gb/s  64B %.0f kpps %.0f cpu-ns/pkt", c.name,
					median(rtts), rtts[len(rtts)*9/10], bps/1e9, pps/1e3, cpu)
			})
		}
	}
	for _, c := range cases {
		w := rows[c.name]
		if len(w.rtt) == 0 {
			continue
		}
		fmt.Printf("SUMMARY %-10v rtt ms %.3f %v  tcp Gb/s %.2f %v  64B kpps %.0f %v  cpu-ns/pkt %.0f %v\n", c.name,
			median(w.rtt), fmtAll(w.rtt, "%.3f"), median(w.gbps), fmtAll(w.gbps, "%.2f"),
			median(w.kpps), fmtAll(w.kpps, "%.0f"), median(w.cpu), fmtAll(w.cpu, "%.0f"))
	}
}

func fmtAll(v []float64, f string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(f, x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// BenchmarkSpinCost measures the switch process's CPU use while it forwards
// a fixed rate of 64-byte UDP (iperf3 -u) through two frame-ring ports,
// with and without the adaptive spin, and with the block ring for
// reference. Run with -benchtime=1x.
func BenchmarkSpinCost(b *testing.B) {
	nettest.RequireBinary(b, "iperf3")
	for _, kpps := range []int{5, 20, 50} {
		for _, c := range cmpCases {
			if c.name != "framering" && c.name != "fr-nospin" && c.name != "ring" && c.name != "mmsg" {
				continue
			}
			b.Run(fmt.Sprintf("%s/%dk", c.name, kpps), func(b *testing.B) {
				hostA, hostB, _ := bridge(b, c.opts())
				var r0, r1 unix.Rusage
				_ = unix.Getrusage(unix.RUSAGE_SELF, &r0)
				t0 := time.Now()
				rate := strconv.Itoa(kpps * 1000 * 64 * 8)
				bps, err := iperf3(hostA, hostB, 2, "-u", "-l", "64", "-b", rate)
				if err != nil {
					b.Fatal(err)
				}
				_ = unix.Getrusage(unix.RUSAGE_SELF, &r1)
				cpu := time.Duration(r1.Utime.Nano() - r0.Utime.Nano() + r1.Stime.Nano() - r0.Stime.Nano())
				b.Logf("%s at %d kpps (iperf3 reports %.1f kpps): switch process CPU %.0f%%", c.name, kpps,
					bps/64/8/1e3, 100*cpu.Seconds()/time.Since(t0).Seconds())
				b.ReportMetric(100*cpu.Seconds()/time.Since(t0).Seconds(), "cpu%")
			})
		}
	}
}
