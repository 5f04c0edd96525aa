package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Write stores results.json, results.md and the PNG plots in dir.
func Write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	plots, err := writePlots(dir, r)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	var b strings.Builder
	WriteMarkdown(&b, r, plots)
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(b.String()), 0o644)
}

// ranSystems are the systems with results, in run order.
func (r *Results) ranSystems() []string {
	var s []string
	for _, info := range r.Systems {
		if info.Skipped != "" {
			continue
		}
		if slices.ContainsFunc(r.Cases, func(c *Case) bool { return c.System == info.Name }) {
			s = append(s, info.Name)
		}
	}
	return s
}

// row is one line of a Markdown table: a workload's metric.
type row struct {
	workload, metric, label string
}

// rowsOf lists the rows of the given kinds in workload order.
func (r *Results) rowsOf(kinds ...string) []row {
	var rows []row
	seen := map[string]bool{}
	for _, c := range r.Cases {
		if !slices.Contains(kinds, c.Kind) || seen[c.Workload+"\x00"+c.Metric] {
			continue
		}
		seen[c.Workload+"\x00"+c.Metric] = true
		label := c.Title
		if len(kindMetrics[c.Kind]) > 1 {
			label += " " + c.Metric
			if c.Kind == "control" {
				label = c.Metric
				if strings.HasPrefix(c.Metric, "bulk") {
					label += fmt.Sprintf(" (%d ports, one call)", r.bulkPorts())
				}
			}
		}
		rows = append(rows, row{c.Workload, c.Metric, label})
	}
	return rows
}

func (r *Results) bulkPorts() int {
	var n int
	_, _ = fmt.Sscanf(strings.TrimPrefix(r.controlTitle(), "control plane ("), "%d add-port, %d-port", new(int), &n)
	return n
}

func (r *Results) controlTitle() string {
	for _, c := range r.Cases {
		if c.Kind == "control" {
			return c.Title
		}
	}
	return ""
}

// num formats with about three significant digits.
func num(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// cell is "median [min–max]" plus the loss for packet workloads.
func cell(c *Case, reps int) string {
	if c == nil {
		return "–"
	}
	if c.Stat.N == 0 {
		return "failed (see Errors)"
	}
	s := num(c.Stat.Median)
	if c.Stat.N > 1 {
		s += fmt.Sprintf(" [%s–%s]", num(c.Stat.Min), num(c.Stat.Max))
	}
	if l, ok := c.Extra["loss"]; ok {
		s += fmt.Sprintf(", loss %.1f%%", 100*l.Median)
	}
	if len(c.Errors) > 0 {
		s += fmt.Sprintf(" (%d/%d failed)", len(c.Errors), reps)
	}
	if len(c.Retried) > 0 {
		s += fmt.Sprintf(" (%d retried)", len(c.Retried))
	}
	return s
}

// ratio is val(a)/val(b), or "–".
func ratio(a, b *Case, val func(*Case) (float64, bool)) string {
	if a == nil || b == nil {
		return "–"
	}
	x, ok1 := val(a)
	y, ok2 := val(b)
	if !ok1 || !ok2 || y == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", x/y)
}

// medianOf is a case's median, when measured.
func medianOf(c *Case) (float64, bool) { return c.Stat.Median, c.Stat.N > 0 }

// extraOf returns the median of an extra value.
func extraOf(key string) func(*Case) (float64, bool) {
	return func(c *Case) (float64, bool) {
		s, ok := c.Extra[key]
		return s.Median, ok && s.N > 0
	}
}

// table writes one Markdown table; val gives the numbers the ratio columns divide.
// gvswitchd is divided by the bridge's and OVS's numbers, and by OVS with
// default settings when that system ran.
func (r *Results) table(w io.Writer, rows []row, cellf func(*Case) string, val func(*Case) (float64, bool)) {
	systems := r.ranSystems()
	refs := []struct{ label, sys string }{{"bridge", SysBridge}, {"OVS", SysOVS}}
	if slices.Contains(systems, SysOVSDefault) {
		refs = append(refs, struct{ label, sys string }{"OVS default", SysOVSDefault})
	}
	var hdr []string
	for _, ref := range refs {
		hdr = append(hdr, "gvswitchd / "+ref.label)
	}
	fmt.Fprintf(w, "| workload | %s | %s |\n", strings.Join(systems, " | "), strings.Join(hdr, " | "))
	fmt.Fprintf(w, "|---|%s%s\n", strings.Repeat("---|", len(systems)), strings.Repeat("---|", len(refs)))
	for _, rw := range rows {
		cells := make([]string, len(systems))
		for i, s := range systems {
			cells[i] = cellf(r.Find(rw.workload, rw.metric, s))
		}
		g := r.Find(rw.workload, rw.metric, SysGvswitchd)
		ratios := make([]string, len(refs))
		for i, ref := range refs {
			ratios[i] = ratio(g, r.Find(rw.workload, rw.metric, ref.sys), val)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", rw.label, strings.Join(cells, " | "), strings.Join(ratios, " | "))
	}
	fmt.Fprintln(w)
}

// WriteMarkdown renders the results as Markdown; plots are image file names.
func WriteMarkdown(w io.Writer, r *Results, plots []string) {
	mode := "full"
	if r.Quick {
		mode = "quick (indicative only)"
	}
	m := r.Machine
	fmt.Fprintf(w, "# gvswitch benchmark: %s UTC\n\n", r.Started.Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "Mode %s: %d measured repetition(s) of %gs per case; %d hosts on the switch; took %s. The repetitions run in\n"+
		"rounds: each round starts every system afresh in a new topology and runs each workload once (after a warm-up\n"+
		"run: every UDP case, the first TCP and latency case), so that drifts in the load of the shared machine spread\n"+
		"over all systems.\n\n",
		mode, r.Reps, r.DurationSec, r.Hosts, r.Finished.Sub(r.Started).Round(1e9))
	if r.Command != "" {
		fmt.Fprintf(w, "Command: `%s`\n\n", r.Command)
	}
	fmt.Fprintf(w, "Machine: %s, %d cores, %d MiB, kernel %s; load average %s at start, %s at end (the machine is shared: other jobs ran too).\n\n",
		m.CPU, m.Cores, m.MemoryMB, m.Kernel, m.LoadStart, m.LoadEnd)
	var tools []string
	for k := range m.Tools {
		tools = append(tools, k)
	}
	slices.Sort(tools)
	fmt.Fprintln(w, "Tools:")
	for _, k := range tools {
		fmt.Fprintf(w, "- %s: %s\n", k, m.Tools[k])
	}
	fmt.Fprintln(w, "\nSystems:")
	for _, s := range r.Systems {
		switch {
		case s.Skipped != "":
			fmt.Fprintf(w, "- %s: skipped: %s\n", s.Name, s.Skipped)
		case s.Error != "":
			fmt.Fprintf(w, "- %s (%s): FAILED: %s\n", s.Name, s.Version, firstLineOf(s.Error))
		default:
			fmt.Fprintf(w, "- %s: %s\n", s.Name, s.Version)
		}
	}
	fmt.Fprint(w, `
Cells are median [min–max] over the repetitions. Ratios divide gvswitchd's median by the Linux bridge's
and Open vSwitch's: above 1 is better for throughput, below 1 is better for latency and control-plane times.
"direct" is the two hosts on one veth pair, no switch: the generators' ceiling on this machine.

`)
	fmt.Fprint(w, "## TCP throughput (iperf3, Gbit/s at the receiver)\n\n")
	r.table(w, r.rowsOf(KindTCP), func(c *Case) string { return cell(c, r.Reps) }, medianOf)
	if slices.Contains(r.ranSystems(), SysOVSDefault) {
		fmt.Fprint(w, "\"ovs-default\" is Open vSwitch with its default settings (no userspace-tso-enable; \"ovs\" has it on).\n"+
			"A TCP cell of 0 there means TCP did not pass (iperf3 could not connect): with the hosts' default\n"+
			"checksum offload it forwards checksum-partial frames unfixed, and the receiver drops them.\n\n")
	}
	fmt.Fprint(w, "## UDP packet rate (trafgen, received Mpps per receiving host, and loss)\n\n")
	fmt.Fprint(w, "Rows marked \"sink receiver\" drop the frames at the receivers' eth0 ingress (a BPF drop program on the\n"+
		"tcx hook) instead of passing them to their IP stack: on veths that stack runs on the CPU of whoever sent into\n"+
		"the veth, which for a userspace switch is the switch's own thread (see bench/README.md).\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string { return cell(c, r.Reps) }, medianOf)
	fmt.Fprint(w, "Sent rate (Mpps, median) for the same cases, as counted at the sender's eth0:\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string { return extraCell(c, "sent_mpps", 1) }, extraOf("sent_mpps"))
	fmt.Fprint(w, "Where the loss happens (share of the sent frames): dropped inside the switch, between its input port's RX\n"+
		"and its output ports' TX counters (for a userspace switch: its socket's ring or queue overflowed), and lost after it\n"+
		"(the output veth or the receiving host):\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string {
		if c == nil {
			return "–"
		}
		in, ok1 := c.Extra["loss_switch"]
		out, ok2 := c.Extra["loss_after"]
		if !ok1 || !ok2 || in.N == 0 || out.N == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%% / %.1f%%", 100*in.Median, 100*out.Median)
	}, func(*Case) (float64, bool) { return 0, false })
	fmt.Fprint(w, "Switch CPU per received Mpps (CPU-seconds per second of the switch process, from /proc/PID/stat, divided by\n"+
		"received Mpps; softirq work of the veths and AF_PACKET sockets is not included; n/a for the kernel bridge):\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string { return extraCell(c, "switch_cores_per_mpps", 1) }, extraOf("switch_cores_per_mpps"))
	fmt.Fprint(w, "Generator CPU per sent frame (ns; trafgen's CPU time from /proc/PID/stat divided by the frames it sent; on veths\n"+
		"it includes the receive work of the switch's socket, which runs in the sender's softirq, so it is what each\n"+
		"switch's receive path costs the generator, and it depends little on how loaded the machine is):\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string { return extraCell(c, "gen_ns_per_frame", 1) }, extraOf("gen_ns_per_frame"))
	fmt.Fprint(w, "Machine-wide softirq time during the same runs (cores, all CPUs; includes the veth work of generator and\n"+
		"receivers and of other jobs on the machine; the kernel bridge forwards in softirq):\n\n")
	r.table(w, r.rowsOf(KindUDP, KindFlood), func(c *Case) string { return extraCell(c, "softirq_cores", 1) }, extraOf("softirq_cores"))
	fmt.Fprint(w, "## Latency (UDP request/response, one outstanding, µs round trip)\n\n")
	r.table(w, r.rowsOf(KindLatency), func(c *Case) string { return cell(c, r.Reps) }, medianOf)
	fmt.Fprintf(w, "## Control plane (ms; %s)\n\n", strings.Trim(strings.TrimPrefix(r.controlTitle(), "control plane "), "()"))
	fmt.Fprint(w, "ovs-vsctl against gvswitchd and Open vSwitch (it waits until the switch applied the change); the Linux\n"+
		"bridge row uses `ip link set master` (bulk: one `ip -batch`) for scale. add-port p50/p99 are over the single calls.\n\n")
	r.table(w, r.rowsOf("control"), func(c *Case) string {
		if c == nil || c.Stat.N == 0 {
			return cell(c, 1)
		}
		return num(c.Stat.Median)
	}, medianOf)
	if len(plots) > 0 {
		fmt.Fprintln(w, "## Plots")
		fmt.Fprintln(w)
		for _, p := range plots {
			fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	var errs []string
	for _, c := range r.Cases {
		for _, e := range c.Errors {
			errs = append(errs, fmt.Sprintf("- %s %s: %s", c.System, c.Title, firstLineOf(e)))
		}
		for _, e := range c.Retried {
			errs = append(errs, fmt.Sprintf("- %s %s (retried): %s", c.System, c.Title, firstLineOf(e)))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "## Errors")
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(slices.Compact(errs), "\n"))
	}
}

func extraCell(c *Case, key string, scale float64) string {
	if c == nil {
		return "–"
	}
	s, ok := c.Extra[key]
	if !ok || s.N == 0 {
		return "n/a"
	}
	return num(s.Median * scale)
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 300 {
		l = l[:300] + "..."
	}
	return l
}
