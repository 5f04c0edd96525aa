package main

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// Reference figures for Open vSwitch 3.1 (same measurement with the real
// ovs-vswitchd): one add-port with wait, median 20 ms and p99 30 ms; 1000
// ports in one ovs-vsctl run, 405 ms.
const (
	refAddPortMedianMs = 20
	refAddPortP99Ms    = 30
	refBulk1000Ms      = 405
)

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkAddPort measures the round trip of one real
// "ovs-vsctl --timeout=5 add-port BR pN -- set Interface pN type=internal"
// WITHOUT --no-wait: database commit, reconcile (a TAP device is created and
// attached), ofport and cur_cfg written back, ovs-vsctl sees them. Run with
// -benchtime=50x for the reference's 50 samples. nowait-median-ms is the
// same command with --no-wait (ovs-vsctl plus the database commit): the
// difference is what waiting for gvswitchd adds.
func BenchmarkAddPort(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, _ := m.start(b)
			br := testutil.UniqueLinkName("gvb", "")
			vsctl(b, s, "add-br", br)
			var lat, noWait []time.Duration
			n := 0
			for b.Loop() {
				name := fmt.Sprintf("%.8s-%d", br, n)
				n++
				start := time.Now()
				vsctl(b, s, "add-port", br, name, "--", "set", "Interface", name, "type=internal")
				lat = append(lat, time.Since(start))
				// The same command with --no-wait: ovs-vsctl's own cost plus
				// the database commit, without gvswitchd's part.
				b.StopTimer()
				name = fmt.Sprintf("%.8s-n%d", br, n)
				start = time.Now()
				vsctl(b, s, "--no-wait", "add-port", br, name, "--", "set", "Interface", name, "type=internal")
				noWait = append(noWait, time.Since(start))
				b.StartTimer()
			}
			b.ReportMetric(ms(percentile(lat, 0.5)), "median-ms")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
			b.ReportMetric(ms(percentile(noWait, 0.5)), "nowait-median-ms")
			b.ReportMetric(refAddPortMedianMs, "ovs-median-ms")
			b.ReportMetric(refAddPortP99Ms, "ovs-p99-ms")
			vsctl(b, s, "del-br", br)
		})
	}
}

// BenchmarkBulkAdd1000 adds 1000 ports to a fresh bridge in one ovs-vsctl
// run with wait, and deletes the bridge (untimed) afterwards. type=internal
// creates 1000 TAP devices (kernel-bound: register_netdevice runs under the
// RTNL lock); type=patch creates no device and measures the database and
// reconcile path alone.
func BenchmarkBulkAdd1000(b *testing.B) {
	for _, m := range modes {
		for _, typ := range []string{"internal", "patch"} {
			b.Run(m.name+"/"+typ, func(b *testing.B) {
				s, _ := m.start(b)
				var total, noWait time.Duration
				iters := 0
				bulk := func(opt string) time.Duration {
					br := testutil.UniqueLinkName("gvb", "")
					args := []string{opt, "add-br", br}
					for i := 0; i < 1000; i++ {
						name := fmt.Sprintf("%.8s-%d", br, i)
						args = append(args, "--", "add-port", br, name, "--", "set", "Interface", name, "type="+typ)
						if typ == "patch" {
							args = append(args, "options:peer=none-"+name)
						}
					}
					start := time.Now()
					r := s.Vsctl(b, args...)
					d := time.Since(start)
					if !r.OK() {
						b.Fatalf("bulk add of 1000 ports (%s): exit %d signal %v\nstderr:\n%.2000s", opt, r.ExitCode, r.Signal, r.Stderr)
					}
					b.StopTimer()
					s.Vsctl(b, "--timeout=120", "del-br", br)
					b.StartTimer()
					return d
				}
				for b.Loop() {
					total += bulk("--timeout=120")
					b.StopTimer()
					// Baseline: the same run with --no-wait (ovs-vsctl and
					// the database only).
					noWait += bulk("--no-wait")
					b.StartTimer()
					iters++
				}
				b.ReportMetric(ms(total/time.Duration(iters)), "bulk-ms")
				b.ReportMetric(ms(noWait/time.Duration(iters)), "nowait-bulk-ms")
				b.ReportMetric(refBulk1000Ms, "ovs-bulk-ms")
			})
		}
	}
}
