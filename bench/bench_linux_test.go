package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gvswitch/gvswitch/internal/testutil"
)

// logWriter sends progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// goBinary finds the go command that runs this test.
func goBinary(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := "/usr/local/go/bin/go"
	testutil.Require(t, fileExists(p), "go command not found")
	return p
}

// TestQuickEndToEnd runs the quick benchmark against the Linux bridge and
// gvswitchd and checks that it produced sane numbers, a table and plots.
func TestQuickEndToEnd(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range []string{"iperf3", "trafgen", "ethtool", "ovs-vsctl", "ss", "ping"} {
		testutil.RequireBinary(t, b)
	}
	dir := t.TempDir()
	gvs := filepath.Join(dir, "gvswitchd")
	build := exec.Command(goBinary(t), "build", "-o", gvs, "github.com/gvswitch/gvswitch/cmd/gvswitchd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gvswitchd: %v\n%s", err, out)
	}
	cfg := DefaultConfig(true)
	cfg.Systems = []string{SysBridge, SysGvswitchd}
	cfg.Workloads = []string{"tcp1", "udp64-1", "udp64-1-sink", "flood64", "rr"}
	cfg.AddPortRuns, cfg.BulkPorts, cfg.BulkTimeout = 3, 20, 30*time.Second
	cfg.Gvswitchd = gvs
	cfg.OutDir = filepath.Join(dir, "results")
	cfg.Progress = logWriter{t}
	cfg.Strict = testutil.InCI()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if res == nil {
		t.Fatalf("run: %v", err)
	}
	if werr := Write(cfg.OutDir, res); werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if err != nil {
		t.Errorf("run: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("results.md:\n%s", md)
	for _, f := range []string{"results.json", "tcp.png", "udp.png", "latency.png", "control.png"} {
		if st, err := os.Stat(filepath.Join(cfg.OutDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	for _, want := range []string{"| TCP 1 stream, offloads on |", "| UDP 64B, 1 flow |", "gvswitchd / bridge"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	checks := []struct {
		workload, metric string
		min, max         float64
	}{
		{"tcp1", "throughput", 0.01, 1000},      // Gbit/s
		{"udp64-1", "rx", 0.0005, 100},          // Mpps
		{"udp64-1-sink", "rx", 0.0005, 100},     // Mpps, counted although dropped
		{"flood64", "rx", 0.0001, 100},          // Mpps per flooded host
		{"rr", "p50", 1, 100000},                // µs
		{"control", "add-port p50", 0.01, 5000}, // ms
	}
	for _, sys := range cfg.Systems {
		for _, c := range checks {
			got := res.Find(c.workload, c.metric, sys)
			if got == nil || got.Stat.N == 0 {
				t.Errorf("%s %s %s: no measurement (%v)", sys, c.workload, c.metric, got)
				continue
			}
			if v := got.Stat.Median; v < c.min || v > c.max {
				t.Errorf("%s %s %s = %g, want within [%g, %g]", sys, c.workload, c.metric, v, c.min, c.max)
			}
		}
	}
}

// TestProcStat reads this process's own /proc entries: a CPU time that
// grows with work (spinning until it does, so a loaded machine only makes
// it slower) and the parent's pid.
func TestProcStat(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		after, err := treeCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time still %v after 10 s of spinning", after)
		}
	}
	if pp, err := procPPID(os.Getpid()); err != nil || pp != os.Getppid() {
		t.Fatalf("procPPID = %d, %v; want %d", pp, err, os.Getppid())
	}
}
