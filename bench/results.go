package bench

import (
	"time"
)

// Case is one metric of one workload on one system, over the repetitions.
type Case struct {
	Workload string          `json:"workload"` // Workload.ID, or "control"
	Title    string          `json:"title"`
	Kind     string          `json:"kind"`
	Metric   string          `json:"metric"`
	Unit     string          `json:"unit"`
	Higher   bool            `json:"higher_is_better"`
	System   string          `json:"system"`
	Samples  []float64       `json:"samples"`
	Stat     Stat            `json:"stat"`
	Extra    map[string]Stat `json:"extra,omitempty"`
	Errors   []string        `json:"errors,omitempty"`
	Retried  []string        `json:"retried,omitempty"` // errors of runs that were retried

	extraSamples map[string][]float64
}

// SystemInfo says what ran, or why not.
type SystemInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string            `json:"cpu"`
	Cores     int               `json:"cores"`
	Kernel    string            `json:"kernel"`
	MemoryMB  int               `json:"memory_mb"`
	LoadStart string            `json:"loadavg_start"`
	LoadEnd   string            `json:"loadavg_end"`
	Tools     map[string]string `json:"tools"`
}

// Results is a whole run.
type Results struct {
	Command     string       `json:"command,omitempty"` // how the run was started
	Started     time.Time    `json:"started"`
	Finished    time.Time    `json:"finished"`
	Quick       bool         `json:"quick"`
	Reps        int          `json:"reps"`
	DurationSec float64      `json:"duration_sec"`
	Hosts       int          `json:"hosts"`
	Machine     Machine      `json:"machine"`
	Systems     []SystemInfo `json:"systems"`
	Workloads   []Workload   `json:"workloads"`
	Cases       []*Case      `json:"cases"`
}

// metricDef describes a metric a kind of workload produces.
type metricDef struct {
	name, unit string
	higher     bool
}

var kindMetrics = map[string][]metricDef{
	KindTCP:     {{"throughput", "Gbit/s", true}},
	KindUDP:     {{"rx", "Mpps", true}},
	KindFlood:   {{"rx", "Mpps", true}},
	KindLatency: {{"p50", "µs", false}, {"p99", "µs", false}},
	"control": {{"add-port p50", "ms", false}, {"add-port p99", "ms", false},
		{"bulk add", "ms", false}, {"bulk del-br", "ms", false}},
}

// Find returns the case for (workload, metric, system), or nil.
func (r *Results) Find(workload, metric, system string) *Case {
	for _, c := range r.Cases {
		if c.Workload == workload && c.Metric == metric && c.System == system {
			return c
		}
	}
	return nil
}

// caseFor returns the case, creating it.
func (r *Results) caseFor(id, title, kind string, md metricDef, system string) *Case {
	if c := r.Find(id, md.name, system); c != nil {
		return c
	}
	c := &Case{Workload: id, Title: title, Kind: kind, Metric: md.name, Unit: md.unit, Higher: md.higher, System: system}
	r.Cases = append(r.Cases, c)
	return c
}

// record adds one repetition (or an error) to the workload's cases.
func (r *Results) record(id, title, kind, system string, m measurement, err error) {
	for _, md := range kindMetrics[kind] {
		c := r.caseFor(id, title, kind, md, system)
		v, ok := m.metrics[md.name]
		if !ok {
			// A failed run may still have measured some metrics (control plane).
			if err != nil {
				c.Errors = append(c.Errors, err.Error())
			}
			continue
		}
		c.Samples = append(c.Samples, v)
		c.Stat = summarize(c.Samples)
		if c.extraSamples == nil {
			c.extraSamples = map[string][]float64{}
			c.Extra = map[string]Stat{}
		}
		for k, x := range m.extra {
			c.extraSamples[k] = append(c.extraSamples[k], x)
			if s := summarize(c.extraSamples[k]); s.N > 0 {
				c.Extra[k] = s
			}
		}
	}
}

// retried notes the error of a run of w that was repeated.
func (r *Results) retried(w Workload, system string, err error) {
	for _, md := range kindMetrics[w.Kind] {
		c := r.caseFor(w.ID, w.Title(), w.Kind, md, system)
		c.Retried = append(c.Retried, err.Error())
	}
}
