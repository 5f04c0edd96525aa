package bench

import (
	"math"
	"slices"
)

// Stat summarises repeated measurements.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Q1     float64 `json:"q1"`
	Q3     float64 `json:"q3"`
	P99    float64 `json:"p99,omitempty"`
}

// summarize computes the statistics of xs (NaNs ignored).
func summarize(xs []float64) Stat {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stat{}
	}
	slices.Sort(v)
	return Stat{
		N: len(v), Median: quantile(v, 0.5), Min: v[0], Max: v[len(v)-1],
		Q1: quantile(v, 0.25), Q3: quantile(v, 0.75), P99: quantile(v, 0.99),
	}
}

// quantile interpolates linearly in sorted v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	f := pos - float64(i)
	return v[i]*(1-f) + v[i+1]*f
}

// nan marks a value that could not be measured; summarize drops it.
var nan = math.NaN()
