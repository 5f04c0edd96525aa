package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gvswitch/gvswitch/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	quick := os.Getenv("GVS_BENCH_QUICK") == "1" || os.Getenv("QUICK") == "1"
	fs := flag.NewFlagSet("gvsbench", flag.ContinueOnError)
	q := fs.Bool("quick", quick, "one short repetition of fewer cases (also GVS_BENCH_QUICK=1)")
	out := fs.String("out", "", "results directory (default bench/results/latest, or bench/results/quick with -quick)")
	systems := fs.String("systems", "", "comma-separated systems: direct,bridge,gvswitchd,ovs,ovs-default,ovs-afxdp (default: all but ovs-afxdp)")
	workloads := fs.String("workloads", "", "comma-separated workload IDs (default: the mode's set; see -list)")
	list := fs.Bool("list", false, "list workloads and exit")
	gvs := fs.String("gvswitchd", "", "gvswitchd binary (default: bin/gvswitchd of the module, else PATH)")
	alt := fs.String("gvswitchd-alt", "", "comma-separated LABEL=BINARY: more gvswitchd builds, run as systems gvswitchd-LABEL (add them to -systems)")
	reps := fs.Int("reps", 0, "measured repetitions per case (default 3, quick 1)")
	dur := fs.Duration("duration", 0, "length of each measured run (default 3s, quick 1s)")
	hosts := fs.Int("hosts", 0, "hosts on the switch, for flooding (default 4, quick 3)")
	bulk := fs.Int("bulk-ports", -1, "ports in the one-call bulk add (default 1000, quick 100)")
	control := fs.Bool("control", true, "time the control plane (add-port, bulk add) in the first round")
	bulkIPv6 := fs.Bool("bulk-ipv6", false, "IPv6 on for the bulk add's veths, and -bulk-rss (times not comparable with the default's)")
	bulkRSS := fs.Bool("bulk-rss", false, "record the switch's resident memory 5 s after the bulk add")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *list {
		for _, w := range bench.AllWorkloads() {
			fmt.Printf("%-14s %s\n", w.ID, w.Title())
		}
		return 0
	}
	cfg := bench.DefaultConfig(*q)
	if *q {
		cfg.OutDir = "bench/results/quick"
	}
	if *out != "" {
		cfg.OutDir = *out
	}
	if *systems != "" {
		cfg.Systems = strings.Split(*systems, ",")
	}
	if *workloads != "" {
		cfg.Workloads = strings.Split(*workloads, ",")
	}
	cfg.Gvswitchd = *gvs
	if cfg.Gvswitchd == "" {
		cfg.Gvswitchd = bench.FindGvswitchd()
	}
	for _, kv := range strings.Split(*alt, ",") {
		if kv == "" {
			continue
		}
		label, bin, ok := strings.Cut(kv, "=")
		if !ok || label == "" || bin == "" {
			fmt.Fprintf(os.Stderr, "gvsbench: -gvswitchd-alt %q: want LABEL=BINARY\n", kv)
			return 2
		}
		if cfg.GvswitchdAlt == nil {
			cfg.GvswitchdAlt = map[string]string{}
		}
		cfg.GvswitchdAlt[label] = bin
	}
	if *reps > 0 {
		cfg.Reps = *reps
	}
	if *dur > 0 {
		cfg.Duration = *dur
		cfg.Warmup = min(cfg.Warmup, *dur)
	}
	if *hosts > 0 {
		cfg.Hosts = *hosts
	}
	if *bulk >= 0 {
		cfg.BulkPorts = *bulk
	}
	if !*control {
		cfg.AddPortRuns = 0
	}
	cfg.BulkIPv6, cfg.BulkRSS = *bulkIPv6, *bulkRSS || *bulkIPv6
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := bench.Run(ctx, cfg)
	if res == nil {
		fmt.Fprintf(os.Stderr, "gvsbench: %v\n", err)
		return 1
	}
	res.Command = "gvsbench " + strings.Join(os.Args[1:], " ")
	if werr := bench.Write(cfg.OutDir, res); werr != nil {
		err = errors.Join(err, werr)
	}
	fmt.Fprintf(os.Stderr, "gvsbench: results in %s (%s)\n", cfg.OutDir, time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvsbench: %v\n", err)
		return 1
	}
	return 0
}
