package datapath

import (
	"testing"
)

// BenchmarkRevalidate measures one revalidation pass over 100k flows that
// all keep their actions (the periodic pass of ofproto's revalidator).
func BenchmarkRevalidate(b *testing.B) {
	r := newRig(b, Options{}, 100000, 1)
	b.ReportAllocs()
	for b.Loop() {
		r.dp.Revalidate(func(f *FlowEntry) (Actions, bool) { return f.Actions, true })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/flow")
}
