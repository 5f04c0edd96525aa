package xlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/datapath"
	"github.com/gvswitch/gvswitch/datapath/netdev/dummy"
)

// BenchmarkRevalidatePass times one periodic full revalidation pass over
// the megaflows of gvsbench's UDP workload (see BenchmarkNormalPipeline):
// `flows` source MACs on port 1 to the host on port 2, the default 8192-entry
// MAC table, every flow hit since the previous pass (so the pass also
// refreshes learning from each of them). One op is one pass plus the
// change-triggered pass over the flows to the MACs it changed.
func BenchmarkRevalidatePass(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			benchRevalidatePass(b, n)
		})
	}
}

// BenchmarkRevalidatePassIdle times a periodic pass over the same flows
// when none was hit since the previous full pass and no MAC changed: what a
// pass costs a table of idle flows. pass=periodic is revalidatePeriodic,
// which RunRevalidator's timer runs; pass=full is revalidateAll, which it
// ran before and which Publish still runs.
func BenchmarkRevalidatePassIdle(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		for _, pass := range []string{"full", "periodic"} {
			b.Run(fmt.Sprintf("flows=%d/pass=%s", n, pass), func(b *testing.B) {
				dp, x := benchRevalidateSetup(b, n)
				// Flows count as verified by a pass that started
				// at least verifiedMargin after they were created.
				time.Sleep(verifiedMargin + 10*time.Millisecond)
				dirty := make(map[uint64]int64)
				x.revalidateAll(dp, dirty)
				b.ReportAllocs()
				for b.Loop() {
					if pass == "full" {
						x.revalidateAll(dp, dirty)
					} else {
						x.revalidatePeriodic(dp, dirty)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/flow")
			})
		}
	}
}

func benchRevalidatePass(b *testing.B, flows int) {
	dp, x := benchRevalidateSetup(b, flows)
	dirty := make(map[uint64]int64)
	x.revalidateAll(dp, dirty)
	b.ReportAllocs()
	for b.Loop() {
		// Every flow counts as hit since the previous pass.
		x.refreshAfter.Store(0)
		x.revalidateAll(dp, dirty)
		// The change-triggered pass that the pass's re-learning
		// starts (RunRevalidator).
		x.revalidateChanged(dp, dirty)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(flows), "ns/flow")
}

// benchRevalidateSetup installs the megaflows of `flows` source MACs on
// port 1 to the host on port 2.
func benchRevalidateSetup(b *testing.B, flows int) (*datapath.Datapath, *Xlate) {
	dp, ports, x := benchBridge(b, datapath.Options{SweepInterval: -1})
	benchInstall(b, dp, ports, flows)
	return dp, x
}

// benchInstall installs the megaflows of `flows` source MACs on port 1 to
// the host on port 2.
func benchInstall(b *testing.B, dp *datapath.Datapath, ports []*dummy.Port, flows int) {
	for p := 2; p <= 4; p++ {
		ports[p].Inject(benchFrame(benchHost(p), bcast, 0))
	}
	benchSend(ports, flows)
	deadline := time.Now().Add(20 * time.Second)
	for dp.Stats().Flows < uint64(flows) {
		if time.Now().After(deadline) {
			b.Fatalf("%d flows installed, want %d", dp.Stats().Flows, flows)
		}
		time.Sleep(time.Millisecond)
	}
}

// benchSend sends one frame from each of `flows` source MACs on port 1 to
// the host on port 2.
func benchSend(ports []*dummy.Port, flows int) {
	for i := 0; i < flows; i += 256 {
		batch := make([][]byte, 0, 256)
		for j := i; j < min(i+256, flows); j++ {
			batch = append(batch, benchFrame(benchSrc(j), benchHost(2), j))
		}
		ports[1].Inject(batch...)
	}
}

// BenchmarkRevalidatePassHit times what RunRevalidator's timer runs over
// the flows of BenchmarkRevalidatePass in steady state: a periodic pass
// (revalidatePeriodic) when every flow was hit since the previous pass and
// was verified before it, plus the change-triggered pass that the pass's
// re-learning starts. BenchmarkRevalidatePass times a pass over every flow
// instead (what Publish runs, and the timer ran before periodic passes
// passed over verified flows).
func BenchmarkRevalidatePassHit(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			dp, ports, x := benchBridge(b, datapath.Options{SweepInterval: -1})
			benchInstall(b, dp, ports, n)
			dirty := make(map[uint64]int64)
			x.revalidateAll(dp, dirty)
			// The flows count as verified by a pass that started at
			// least verifiedMargin after they were created, and as
			// hit since it.
			time.Sleep(verifiedMargin + 10*time.Millisecond)
			prev := time.Now().UnixNano()
			hits := dp.Stats().Hit
			benchSend(ports, n)
			deadline := time.Now().Add(20 * time.Second)
			for dp.Stats().Hit < hits+uint64(n) {
				if time.Now().After(deadline) {
					b.Fatalf("%d hits, want %d", dp.Stats().Hit-hits, n)
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportAllocs()
			for b.Loop() {
				x.refreshAfter.Store(prev)
				x.revalidatePeriodic(dp, dirty)
				x.revalidateChanged(dp, dirty)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/flow")
		})
	}
}
