package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measurement is one run's metrics (by metric name) and side values.
type measurement struct {
	metrics map[string]float64
	extra   map[string]float64
}

// env is what a workload runs against.
type env struct {
	t    *topo
	sys  system
	dir  string
	cfg  Config
	perf *proc     // iperf3 server in host 2
	sink *sinkProg // loaded by the first sink workload
}

const iperfPort = "5201"

// startIperf starts the iperf3 server in host 2 and waits until it listens.
func (e *env) startIperf(ctx context.Context) error {
	h := e.t.hosts[1]
	p, err := startProc(h.ns.cmd(context.Background(), "iperf3", "-s", "-B", h.ip.String(), "-p", iperfPort), filepath.Join(e.dir, "iperf3-server.log"))
	if err != nil {
		return err
	}
	e.perf = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := h.ns.run(ctx, "ss", "-Hltn", "sport = :"+iperfPort)
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("iperf3 server not listening: %w", errors.Join(err, context.DeadlineExceeded))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuMeter samples the switch's CPU time and the machine's softirq time.
type cpuMeter struct {
	pid     int
	t0      time.Time
	c0, s0  time.Duration
	cpuOK   bool
	elapsed time.Duration
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, t0: time.Now(), s0: softirqTime()}
	if pid > 0 {
		c, err := procCPU(pid)
		m.c0, m.cpuOK = c, err == nil
	}
	return m
}

// stop returns the switch's cores in use (NaN when unknown) and softirq cores.
func (m *cpuMeter) stop() (switchCores, softirqCores float64) {
	m.elapsed = time.Since(m.t0)
	el := m.elapsed.Seconds()
	softirqCores = (softirqTime() - m.s0).Seconds() / el
	switchCores = nan
	if m.cpuOK {
		if c, err := procCPU(m.pid); err == nil {
			switchCores = (c - m.c0).Seconds() / el
		}
	}
	return switchCores, softirqCores
}

// runTCP runs one iperf3 client from host 1 to host 2.
func (e *env) runTCP(ctx context.Context, w Workload, d time.Duration) (measurement, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+15*time.Second)
	defer cancel()
	m := startCPU(e.sys.pid())
	out, err := runCmd(e.t.hosts[0].ns.cmd(ctx, "iperf3", "-c", e.t.hosts[1].ip.String(), "-p", iperfPort,
		"-t", fmt.Sprint(secs), "-P", fmt.Sprint(w.Streams), "-J", "--connect-timeout", "3000"))
	cores, soft := m.stop()
	var r struct {
		Error string
		End   struct {
			SumSent struct {
				Retransmits float64
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		}
	}
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		return measurement{}, errors.Join(err, fmt.Errorf("parse iperf3 json: %w", jerr))
	}
	if r.Error != "" {
		return measurement{}, fmt.Errorf("iperf3: %s", r.Error)
	}
	if err != nil {
		return measurement{}, err
	}
	return measurement{
		metrics: map[string]float64{"throughput": r.End.SumReceived.BitsPerSecond / 1e9},
		extra:   map[string]float64{"retransmits": r.End.SumSent.Retransmits, "switch_cores": cores, "softirq_cores": soft},
	}, nil
}

// trafgenConfig writes the trafgen packet for w: UDP from host 1 to the sink
// IP, to dstMAC, with w.Flows distinct source MACs, IPs and ports (counters
// wrap at w.Flows).
func trafgenConfig(dir string, w Workload, dstMAC string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n  eth(da=%s, sa=02:10:00:00:00:00", dstMAC)
	if w.Flows > 1 {
		fmt.Fprintf(&b, ", sa=dinc(0, %d)", w.Flows-1)
	}
	b.WriteString("),\n  ipv4(da=" + sinkIP + ", sa=10.201.1.0, ttl=64")
	if w.Flows > 1 {
		fmt.Fprintf(&b, ", sa=dinc(0, %d)", w.Flows-1)
	}
	b.WriteString("),\n  udp(dp=9, sp=1024")
	if w.Flows > 1 {
		fmt.Fprintf(&b, ", sp=dinc(1024, %d)", 1024+min(w.Flows, 64000)-1)
	}
	payload := w.Size - 42
	if payload < 0 {
		return "", fmt.Errorf("frame size %d below 42", w.Size)
	}
	fmt.Fprintf(&b, "),\n  fill(0x41, %d)\n}\n", payload)
	p := filepath.Join(dir, "trafgen-"+w.ID+".cfg")
	return p, os.WriteFile(p, []byte(b.String()), 0o644)
}

// runUDP sends from host 1 with trafgen for d and counts what the receivers got.
// UDP goes to host 2's MAC; flood goes to an unknown MAC and every other host receives it.
func (e *env) runUDP(ctx context.Context, w Workload, d time.Duration) (measurement, error) {
	src := e.t.hosts[0]
	recv := e.t.hosts[1:2]
	dst := e.t.hosts[1].mac
	if w.Kind == KindFlood {
		recv, dst = e.t.hosts[1:], "02:ee:00:00:00:01"
	}
	cfg, err := trafgenConfig(e.dir, w, dst)
	if err != nil {
		return measurement{}, err
	}
	if w.Kind == KindUDP {
		// The receivers only receive, so a switch may have aged out or
		// evicted their MAC addresses (an earlier 100k-flow case fills a
		// 2,048-entry MAC table): a ping from each makes it learn them
		// again, so every system forwards to a known MAC instead of
		// flooding.
		for _, h := range recv {
			if _, err := h.ns.run(ctx, "ping", "-c", "1", "-W", "1", "-q", src.ip.String()); err != nil {
				return measurement{}, fmt.Errorf("relearn %s: %w", h.ip, err)
			}
		}
	}
	if w.Sink {
		// After the relearning pings: a sink drops their replies too.
		if e.sink == nil {
			if e.sink, err = newSinkProg(); err != nil {
				return measurement{}, err
			}
		}
		detach, err := e.sink.attachSinks(recv)
		if err != nil {
			return measurement{}, err
		}
		defer func() { _ = detach() }()
	}
	// One trafgen process (pinned by trafgen to CPU 0), qdisc bypass (its default),
	// no CPU statistics (-C).
	logPath := filepath.Join(e.dir, "trafgen.log")
	_ = os.Remove(logPath)
	p, err := startProc(src.ns.cmd(context.Background(), "trafgen", "-o", "eth0", "-i", cfg, "-P", "1", "-C"), logPath)
	if err != nil {
		return measurement{}, err
	}
	defer p.stop(syscall.SIGINT, 5*time.Second)
	// Start the window once the generator is sending.
	first, err := src.ns.counters(ctx, "eth0")
	if err != nil {
		return measurement{}, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := src.ns.counters(ctx, "eth0")
		if err != nil {
			return measurement{}, err
		}
		if c.TxPackets > first.TxPackets+1000 {
			break
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(logPath)
			return measurement{}, fmt.Errorf("trafgen did not start sending: %s", strings.TrimSpace(string(log)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Besides the hosts' eth0, the switch-side veth ends show where frames
	// are lost: swIn (the sender's port received them) minus swOut (the
	// receivers' ports sent them) were dropped by the switch, swOut minus
	// rx after it.
	type snapshot struct{ tx, rx, swIn, swOut uint64 }
	snap := func() (s snapshot, err error) {
		c, err := src.ns.counters(ctx, "eth0")
		if err != nil {
			return s, err
		}
		s.tx = c.TxPackets
		for _, h := range recv {
			r, err := h.ns.counters(ctx, "eth0")
			if err != nil {
				return s, err
			}
			s.rx += r.RxPackets
		}
		if e.t.sw == "" {
			return s, nil
		}
		c, err = e.t.sw.counters(ctx, src.swIf)
		if err != nil {
			return s, err
		}
		s.swIn = c.RxPackets
		for _, h := range recv {
			r, err := e.t.sw.counters(ctx, h.swIf)
			if err != nil {
				return s, err
			}
			s.swOut += r.TxPackets
		}
		return s, nil
	}
	s0, err := snap()
	if err != nil {
		return measurement{}, err
	}
	m := startCPU(e.sys.pid())
	gen0, genErr := treeCPU(p.cmd.Process.Pid)
	select {
	case <-ctx.Done():
		return measurement{}, ctx.Err()
	case <-time.After(d):
	}
	s1, err := snap()
	cores, soft := m.stop()
	gen1, genErr1 := treeCPU(p.cmd.Process.Pid)
	if err != nil {
		return measurement{}, err
	}
	if p.exited() {
		return measurement{}, fmt.Errorf("trafgen exited during the run")
	}
	el := m.elapsed.Seconds()
	nrecv := float64(len(recv))
	sent := float64(s1.tx-s0.tx) / el / 1e6
	got := float64(s1.rx-s0.rx) / nrecv / el / 1e6
	loss := 0.0
	if sent > 0 {
		loss = max(0, 1-got/sent)
	}
	perMpps := nan
	if got > 0 {
		perMpps = cores / got
	}
	extra := map[string]float64{"sent_mpps": sent, "loss": loss, "switch_cores": cores,
		"switch_cores_per_mpps": perMpps, "softirq_cores": soft}
	if genErr == nil && genErr1 == nil && s1.tx > s0.tx {
		// The generator's CPU time per frame it sent: on veths it
		// includes the receive work of the switch's socket (its hook
		// runs in the sender's softirq), so it shows what a switch's
		// receive path costs the sender, however loaded the machine.
		extra["gen_ns_per_frame"] = float64(gen1-gen0) / float64(s1.tx-s0.tx)
	}
	if e.t.sw != "" && s1.tx > s0.tx {
		// Shares of the sent frames: dropped inside the switch (between
		// its input port's RX and its output ports' TX, per receiver), and
		// after it.
		in := float64(s1.swIn - s0.swIn)
		out := float64(s1.swOut-s0.swOut) / nrecv
		rx := float64(s1.rx-s0.rx) / nrecv
		tx := float64(s1.tx - s0.tx)
		extra["loss_switch"] = max(0, in-out) / tx
		extra["loss_after"] = max(0, out-rx) / tx
	}
	return measurement{metrics: map[string]float64{"rx": got}, extra: extra}, nil
}

// runRR does n UDP round trips host 1 -> host 2 -> host 1, one at a time, and
// reports the round-trip percentiles in µs. The echo runs in this process on a
// socket opened in host 2's namespace.
func (e *env) runRR(ctx context.Context, n int) (measurement, error) {
	var srv, cli *net.UDPConn
	a, b := e.t.hosts[0], e.t.hosts[1]
	err := b.ns.do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: b.ip.AsSlice(), Port: 7777})
		return err
	})
	if err != nil {
		return measurement{}, err
	}
	defer srv.Close()
	err = a.ns.do(func() (err error) {
		cli, err = net.ListenUDP("udp4", &net.UDPAddr{IP: a.ip.AsSlice()})
		return err
	})
	if err != nil {
		return measurement{}, err
	}
	defer cli.Close()
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		buf := make([]byte, 64)
		for {
			k, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDPAddrPort(buf[:k], from)
		}
	}()
	defer func() { srv.Close(); <-echoDone }()
	to := &net.UDPAddr{IP: b.ip.AsSlice(), Port: 7777}
	buf, req := make([]byte, 64), make([]byte, 32)
	rtts := make([]float64, 0, n)
	lost := 0
	for i := range n + 20 { // the first 20 warm caches and are not counted
		if ctx.Err() != nil {
			return measurement{}, ctx.Err()
		}
		binary.BigEndian.PutUint64(req, uint64(i))
		t0 := time.Now()
		if _, err := cli.WriteToUDP(req, to); err != nil {
			return measurement{}, err
		}
		_ = cli.SetReadDeadline(t0.Add(200 * time.Millisecond))
		for {
			k, _, err := cli.ReadFromUDP(buf)
			if err != nil {
				lost++
				if lost > 20 && lost > i/2 {
					return measurement{}, fmt.Errorf("%d of %d requests unanswered", lost, i+1)
				}
				break
			}
			if k >= 8 && binary.BigEndian.Uint64(buf) == uint64(i) {
				if i >= 20 {
					rtts = append(rtts, float64(time.Since(t0).Nanoseconds())/1e3)
				}
				break
			}
		}
	}
	if len(rtts) == 0 {
		return measurement{}, fmt.Errorf("no replies to %d requests", n)
	}
	s := summarize(rtts)
	return measurement{
		metrics: map[string]float64{"p50": s.Median, "p99": s.P99},
		extra:   map[string]float64{"lost": float64(lost)},
	}, nil
}

// runControl times ovs-vsctl (or ip for the Linux bridge): single add-port
// calls on the live bridge, then one call adding cfg.BulkPorts ports to a new
// bridge, and del-br of that bridge. Ports are fresh veths in the switch namespace.
func (e *env) runControl(ctx context.Context, c controller, progress func(string)) (measurement, error) {
	sw := e.t.sw
	mkVeths := func(ports []string) error {
		var lines []string
		// Up on both ends, as a hypervisor's or container runtime's port would be.
		for _, p := range ports {
			lines = append(lines, "link add "+p+" type veth peer name x"+p, "link set "+p+" up", "link set x"+p+" up")
		}
		t0 := time.Now()
		if err := sw.ipBatch(ctx, lines); err != nil {
			return err
		}
		progress(fmt.Sprintf("created %d veth pairs in %v", len(ports), time.Since(t0).Round(time.Millisecond)))
		return nil
	}
	var single, bulk []string
	for i := range e.cfg.AddPortRuns {
		single = append(single, fmt.Sprintf("a%d", i))
	}
	for i := range e.cfg.BulkPorts {
		bulk = append(bulk, fmt.Sprintf("b%d", i))
	}
	// The bulk ports are created only after the single add-ports are timed, so
	// these run with just the hosts' and their own veths in the namespace.
	if err := mkVeths(single); err != nil {
		return measurement{}, err
	}
	var lat []float64
	for _, p := range single {
		t0 := time.Now()
		if err := c.addPorts(ctx, bridgeName, []string{p}); err != nil {
			return measurement{}, err
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1e3)
	}
	s := summarize(lat)
	m := measurement{
		metrics: map[string]float64{"add-port p50": s.Median, "add-port p99": s.P99},
		extra:   map[string]float64{"add-port min": s.Min, "add-port max": s.Max},
	}
	progress(fmt.Sprintf("add-port p50 %.1f ms p99 %.1f ms; bulk add of %d ports", s.Median, s.P99, len(bulk)))
	if len(bulk) == 0 {
		return m, nil
	}
	if err := mkVeths(bulk); err != nil {
		return m, err
	}
	if e.cfg.BulkIPv6 {
		args := []string{"sysctl", "-qw"}
		for _, p := range bulk {
			args = append(args, "net.ipv6.conf."+p+".disable_ipv6=0", "net.ipv6.conf.x"+p+".disable_ipv6=0")
		}
		if _, err := sw.run(ctx, args...); err != nil {
			return m, fmt.Errorf("ipv6 on for the bulk veths: %w", err)
		}
	}
	if err := c.addBridge(ctx, "bulk"); err != nil {
		return m, err
	}
	bctx, cancel := context.WithTimeout(ctx, e.cfg.BulkTimeout)
	defer cancel()
	t0 := time.Now()
	if err := c.addPorts(bctx, "bulk", bulk); err != nil {
		return m, fmt.Errorf("bulk add of %d ports (limit %v): %w", len(bulk), e.cfg.BulkTimeout, err)
	}
	m.metrics["bulk add"] = float64(time.Since(t0).Microseconds()) / 1e3
	if pid := e.sys.pid(); e.cfg.BulkRSS && pid > 0 {
		// Link-up multicast (DAD, MLD, router solicitations) is over
		// within a few seconds.
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(5 * time.Second):
		}
		if kb, err := vmRSSKiB(pid); err == nil {
			m.extra["bulk rss MiB"] = float64(kb) / 1024
			progress(fmt.Sprintf("resident memory 5 s after the bulk add (IPv6 %v): %d MiB", e.cfg.BulkIPv6, kb/1024))
		}
	}
	dctx, cancel2 := context.WithTimeout(ctx, e.cfg.BulkTimeout)
	defer cancel2()
	t0 = time.Now()
	if err := c.delBridge(dctx, "bulk"); err != nil {
		return m, fmt.Errorf("del-br with %d ports (limit %v): %w", len(bulk), e.cfg.BulkTimeout, err)
	}
	m.metrics["bulk del-br"] = float64(time.Since(t0).Microseconds()) / 1e3
	return m, nil
}

// vmRSSKiB reads a process's resident set size.
func vmRSSKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
