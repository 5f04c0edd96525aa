package afpacket_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

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

func newFwdRig(tb testing.TB, frameSize int, mode afpacket.RxMode) *fwdRig {
	tb.Helper()
	sw := nettest.NewNS(tb)
	in := &rig{sw: sw, host: nettest.NewNS(tb), portName: "p" + nettest.Suffix()}
	nettest.Veth(tb, sw, in.portName, in.host, "eth0")
	out := &rig{sw: sw, host: nettest.NewNS(tb), portName: "p" + nettest.Suffix()}
	nettest.Veth(tb, sw, out.portName, out.host, "eth0")
	f := &fwdRig{p0: in.open(tb, afpacket.Options{RxMode: mode}), p1: out.open(tb, afpacket.Options{RxMode: mode})}
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
	f := newFwdRig(b, size, mode)
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
		t.Run(m.String(), func(t *testing.T) { testNoAllocs(t, m) })
	}
}

func testNoAllocs(t *testing.T, mode afpacket.RxMode) {
	f := newFwdRig(t, 60, mode)
	var batch packet.Batch
	// Warm up: first calls may grow the goroutine stack.
	for range 3 {
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

// TestIperf3 runs iperf3 for 2 s between two namespaces joined through two
// ports with default offloads, and logs the rate.
func TestIperf3(t *testing.T) {
	nettest.RequireBinary(t, "iperf3")
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) { testIperf3(t, m) })
	}
}

func testIperf3(t *testing.T, mode afpacket.RxMode) {
	hostA, hostB, gso := bridge(t, afpacket.Options{RxMode: mode})
	srv := make(chan error, 1)
	go func() {
		_, err := hostB.Exec(20*time.Second, "iperf3", "-s", "-1", "-B", "10.77.0.2")
		srv <- err
	}()
	type result struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	var res result
	var out []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		out, err = hostA.Exec(15*time.Second, "iperf3", "-c", "10.77.0.2", "-t", "2", "-J")
		res = result{}
		if jerr := json.Unmarshal(out, &res); jerr != nil {
			t.Fatalf("iperf3 client: %v, output: %v\n%s", err, jerr, out)
		}
		// Poll until the server listens: iperf3 reports that as an error.
		if !strings.Contains(res.Error, "refused") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.Error != "" {
		t.Fatalf("iperf3: %s", res.Error)
	}
	<-srv
	bps := res.End.SumReceived.BitsPerSecond
	t.Logf("iperf3 TCP through two afpacket ports (%v): %.2f Gb/s, %d GSO frames", mode, bps/1e9, gso.Load())
	if bps == 0 {
		t.Fatalf("iperf3 moved no data:\n%s", out)
	}
}
