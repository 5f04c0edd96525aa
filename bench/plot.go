package bench

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// shortLabel is a workload's axis label.
func (r *Results) shortLabel(rw row) string {
	for _, w := range r.Workloads {
		if w.ID != rw.workload {
			continue
		}
		switch w.Kind {
		case KindTCP:
			s := fmt.Sprintf("%d stream", w.Streams)
			if w.Streams > 1 {
				s += "s"
			}
			if w.TxOff {
				s += "\ntx off"
			}
			return s
		case KindUDP:
			return fmt.Sprintf("%dB\n%s flow%s", frameLabel(w.Size), countLabel(w.Flows), plural(w.Flows))
		case KindFlood:
			return fmt.Sprintf("flood\n%dB", frameLabel(w.Size))
		case KindLatency:
			return rw.metric
		}
	}
	return rw.metric
}

// barPlot draws grouped bars: one group per row, one bar per system, height from val.
func (r *Results) barPlot(path, title, ylabel string, rows []row, val func(*Case) float64) (bool, error) {
	systems := r.ranSystems()
	if len(rows) == 0 || len(systems) == 0 {
		return false, nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Y.Min = 0
	var labels []string
	for _, rw := range rows {
		labels = append(labels, r.shortLabel(rw))
	}
	// Only systems with a value here get a bar; colours stay fixed per system.
	type series struct {
		color int
		name  string
		vals  plotter.Values
	}
	var ss []series
	top := 0.0
	for i, s := range systems {
		vals := make(plotter.Values, len(rows))
		ok := false
		for j, rw := range rows {
			if c := r.Find(rw.workload, rw.metric, s); c != nil && c.Stat.N > 0 {
				vals[j] = val(c)
				top = max(top, vals[j])
				ok = true
			}
		}
		if ok {
			ss = append(ss, series{i, s, vals})
		}
	}
	if len(ss) == 0 {
		return false, nil
	}
	groupWidth := vg.Points(float64(min(80, 420/len(rows))))
	w := groupWidth / vg.Length(len(ss))
	for k, se := range ss {
		bars, err := plotter.NewBarChart(se.vals, w)
		if err != nil {
			return false, err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(se.color)
		bars.Offset = w*vg.Length(k) - groupWidth/2 + w/2
		p.Add(bars)
		p.Legend.Add(se.name, bars)
	}
	// Headroom above the tallest bar for the legend.
	p.Y.Max = top * 1.5
	p.NominalX(labels...)
	width := vg.Length(max(6, 1.1*float64(len(rows)))) * vg.Inch
	return true, p.Save(width, 4*vg.Inch, path)
}

// writePlots draws tcp.png, udp.png, latency.png and control.png into dir and
// returns the names of the files written.
func writePlots(dir string, r *Results) ([]string, error) {
	median := func(c *Case) float64 { return c.Stat.Median }
	bulk := float64(max(1, r.bulkPorts()))
	type spec struct {
		file, title, ylabel string
		rows                []row
		val                 func(*Case) float64
	}
	var control []row
	for _, rw := range r.rowsOf("control") {
		rw.label = rw.metric
		control = append(control, rw)
	}
	specs := []spec{
		{"tcp.png", "TCP throughput, iperf3 (median)", "Gbit/s", r.rowsOf(KindTCP), median},
		{"udp.png", "UDP received packet rate, trafgen (median)", "Mpps", r.rowsOf(KindUDP, KindFlood), median},
		{"latency.png", "UDP request/response round trip (median of reps)", "µs", r.rowsOf(KindLatency), median},
		{"control.png", "control plane: per add-port call; bulk add and del-br per port", "ms", control, func(c *Case) float64 {
			if c.Metric == "bulk add" || c.Metric == "bulk del-br" {
				return c.Stat.Median / bulk
			}
			return c.Stat.Median
		}},
	}
	var out []string
	for _, s := range specs {
		ok, err := r.barPlot(filepath.Join(dir, s.file), s.title, s.ylabel, s.rows, s.val)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, s.file)
		}
	}
	return out, nil
}
