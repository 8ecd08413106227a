package direct

import (
	"math"
	"time"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/query"
)

// maxPoints bounds the steps of one query, as Prometheus does (11,000).
const maxPoints = 11000

// lookback is how far back a raw counter value is taken from (rate=false),
// Prometheus's default lookback delta.
const lookback = 5 * time.Minute

// Grid is a query's step grid, in milliseconds since the epoch: Start,
// Start+Step, ... up to End inclusive.
type Grid struct {
	Start, End, Step int64
}

// NewGrid is the step grid of r: step = max(Interval, (To-From)/MaxDataPoints,
// 1 s), in whole milliseconds; Start and End are From and To rounded down to a
// multiple of the step, so that successive refreshes reuse the same points
// (as Grafana's Prometheus data source aligns them).
func NewGrid(r query.Range) Grid {
	span := r.To.Sub(r.From)
	if span < 0 {
		span = 0
	}
	step := r.Interval
	if r.MaxDataPoints > 0 {
		step = max(step, time.Duration(int64(span)/r.MaxDataPoints))
	}
	step = max(step, time.Second)
	if span/step > maxPoints {
		step = span / maxPoints
	}
	s := int64((step + time.Millisecond - 1) / time.Millisecond)
	start := floorTo(r.From.UnixMilli(), s)
	end := floorTo(r.To.UnixMilli(), s)
	if end < start {
		end = start
	}
	return Grid{Start: start, End: end, Step: s}
}

func floorTo(v, m int64) int64 {
	q := v / m
	if v%m != 0 && v < 0 {
		q--
	}
	return q * m
}

// Len is the number of steps.
func (g Grid) Len() int { return int((g.End-g.Start)/g.Step) + 1 }

// At is the time of step i in milliseconds.
func (g Grid) At(i int) int64 { return g.Start + int64(i)*g.Step }

// RateWindow is the window rate() looks back over at each step: Grafana's
// $__rate_interval, max(step + interval, 4 x interval), where interval is
// how often the agent samples its series.
func RateWindow(g Grid, interval time.Duration) int64 {
	iv := interval.Milliseconds()
	if iv <= 0 {
		iv = 15000
	}
	return max(g.Step+iv, 4*iv)
}

// Rates evaluates Prometheus's rate(series[window]) at every step of g: the
// increase of the counter over the samples in (t-window, t], corrected for
// counter resets (a sample lower than its predecessor means the counter
// restarted from zero) and extrapolated to the window's edges as Prometheus
// does, per second. A step with fewer than two samples in its window has no
// value (NaN). samples must be in time order.
func Rates(samples []api.Sample, g Grid, window int64) []float64 {
	out := make([]float64, g.Len())
	lo, hi := 0, 0
	// reset[i] is the counter correction accumulated up to sample i: the
	// sum of the values before each reset at or before i.
	corr := make([]float64, len(samples))
	for i := 1; i < len(samples); i++ {
		corr[i] = corr[i-1]
		if samples[i].V < samples[i-1].V {
			corr[i] += samples[i-1].V
		}
	}
	for i := range out {
		t := g.At(i)
		for hi < len(samples) && samples[hi].T <= t {
			hi++
		}
		for lo < hi && samples[lo].T <= t-window {
			lo++
		}
		if hi-lo < 2 {
			out[i] = math.NaN()
			continue
		}
		out[i] = extrapolatedRate(samples[lo:hi], corr[hi-1]-corr[lo], t-window, t)
	}
	return out
}

// extrapolatedRate is Prometheus's extrapolatedRate for a counter and rate():
// in is at least two samples inside (rangeStart, rangeEnd], correction the
// counter resets among them.
func extrapolatedRate(in []api.Sample, correction float64, rangeStart, rangeEnd int64) float64 {
	first, last := in[0], in[len(in)-1]
	result := last.V - first.V + correction
	durationToStart := float64(first.T-rangeStart) / 1000
	durationToEnd := float64(rangeEnd-last.T) / 1000
	sampled := float64(last.T-first.T) / 1000
	avg := sampled / float64(len(in)-1)
	threshold := avg * 1.1
	if durationToStart >= threshold {
		durationToStart = avg / 2
	}
	// A counter cannot go below zero: do not extrapolate before the point
	// where it would have been zero.
	if result > 0 && first.V >= 0 {
		if toZero := sampled * (first.V / result); toZero < durationToStart {
			durationToStart = toZero
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avg / 2
	}
	factor := (sampled + durationToStart + durationToEnd) / sampled
	return result * factor / (float64(rangeEnd-rangeStart) / 1000)
}

// Values is the counter's value at every step of g: the latest sample at or
// before the step and at most lookback old (NaN if none), as an instant
// query of the raw series gives.
func Values(samples []api.Sample, g Grid) []float64 {
	out := make([]float64, g.Len())
	lb := lookback.Milliseconds()
	hi := 0
	for i := range out {
		t := g.At(i)
		for hi < len(samples) && samples[hi].T <= t {
			hi++
		}
		if hi == 0 || samples[hi-1].T <= t-lb {
			out[i] = math.NaN()
			continue
		}
		out[i] = samples[hi-1].V
	}
	return out
}
