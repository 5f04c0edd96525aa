package vsctl_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/ovstest"
)

func execOK(b *testing.B, bin, sock string, args ...string) {
	r, err := ovstest.Exec(context.Background(), ovstest.Cmd{Bin: bin, Args: append([]string{"--db=" + sock}, args...), Timeout: time.Minute})
	if err != nil || !r.OK() {
		b.Fatalf("%s %v: %v %s", bin, args, err, r.Stderr)
	}
}

// BenchmarkAddPortNoWait times one "--no-wait add-port" process, gvsctl
// against ovs-vsctl on the same private ovsdb-server, and reports the ratio
// of their mean wall times (ours/theirs: below 1 means gvsctl is faster).
func BenchmarkAddPortNoWait(b *testing.B) {
	real, ours := realVsctl(b), gvsctl(b)
	sock := startServer(b)
	execOK(b, real, sock, "--no-wait", "add-br", "br0")
	var tReal, tOurs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		execOK(b, real, sock, "--no-wait", "add-port", "br0", fmt.Sprintf("r%d", i))
		tReal += time.Since(start)
		start = time.Now()
		execOK(b, ours, sock, "--no-wait", "add-port", "br0", fmt.Sprintf("g%d", i))
		tOurs += time.Since(start)
	}
	b.ReportMetric(float64(tOurs.Microseconds())/float64(b.N), "gvsctl-us/op")
	b.ReportMetric(float64(tReal.Microseconds())/float64(b.N), "ovs-vsctl-us/op")
	b.ReportMetric(float64(tOurs)/float64(tReal), "ratio")
}

// BenchmarkBulkAdd1000 adds 1000 ports in one invocation of each tool (on
// separate bridges of one server) and reports the ratio of wall times.
func BenchmarkBulkAdd1000(b *testing.B) {
	real, ours := realVsctl(b), gvsctl(b)
	sock := startServer(b)
	var tReal, tOurs time.Duration
	for i := 0; i < b.N; i++ {
		for _, tool := range []struct {
			bin string
			t   *time.Duration
			p   string
		}{{real, &tReal, "r"}, {ours, &tOurs, "g"}} {
			br := fmt.Sprintf("%sbr%d", tool.p, i)
			args := []string{"--no-wait", "add-br", br}
			for j := 0; j < 1000; j++ {
				args = append(args, "--", "add-port", br, fmt.Sprintf("%s%dp%d", tool.p, i, j))
			}
			start := time.Now()
			execOK(b, tool.bin, sock, args...)
			*tool.t += time.Since(start)
		}
	}
	b.ReportMetric(float64(tOurs.Milliseconds())/float64(b.N), "gvsctl-ms/op")
	b.ReportMetric(float64(tReal.Milliseconds())/float64(b.N), "ovs-vsctl-ms/op")
	b.ReportMetric(float64(tOurs)/float64(tReal), "ratio")
}
