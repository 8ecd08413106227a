package prometheus

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/query"
)

// DefaultScrapeInterval is assumed when jsonData.scrapeIntervalSeconds is unset,
// as Grafana's Prometheus data source does.
const DefaultScrapeInterval = 15 * time.Second

// safeResolution caps the points per series, like Grafana's Prometheus data
// source: Prometheus refuses range queries of more than 11,000 points.
const safeResolution = 11000

// defaultResolution applies when a request carries no MaxDataPoints.
const defaultResolution = 1500

// timing is a range query's resolution.
type timing struct {
	// Start and End are the range aligned to Step.
	Start, End time.Time
	Step       time.Duration
	// Window is the rate() window: Grafana's $__rate_interval.
	Window time.Duration
}

// computeTiming follows Grafana's Prometheus data source
// (calculatePrometheusInterval): the minimum interval is the query's
// interval, or else the scrape interval; the interval for the range is
// (to-from)/maxDataPoints rounded to a "nice" duration, at least the minimum;
// never finer than (to-from)/11000; the rate window ($__rate_interval) is
// max(interval + scrape interval, 4 x scrape interval); start and end are
// aligned down to a multiple of the step so that successive refreshes
// evaluate at the same instants.
func computeTiming(r query.Range, scrape time.Duration) timing {
	if scrape <= 0 {
		scrape = DefaultScrapeInterval
	}
	minInterval := r.Interval
	if minInterval <= 0 {
		minInterval = scrape
	}
	span := r.To.Sub(r.From)
	if span < 0 {
		span = 0
	}
	res := r.MaxDataPoints
	if res <= 0 {
		res = defaultResolution
	}
	step := minInterval
	if calc := span / time.Duration(res); calc >= minInterval {
		step = roundInterval(calc)
	}
	if safe := roundInterval(span / safeResolution); safe > step {
		step = safe
	}
	if step < time.Millisecond {
		step = time.Millisecond
	}
	window := max(step+scrape, 4*scrape)
	return timing{Start: align(r.From, step), End: align(r.To, step), Step: step, Window: window}
}

// align rounds t down to a multiple of step since the Unix epoch.
func align(t time.Time, step time.Duration) time.Time {
	n := int64(math.Floor(float64(t.UnixNano())/float64(step.Nanoseconds()))) * step.Nanoseconds()
	return time.Unix(0, n).UTC()
}

// roundInterval is Grafana's table of "nice" intervals (gtime.roundInterval).
func roundInterval(d time.Duration) time.Duration {
	ms := time.Millisecond
	table := []struct{ upTo, to time.Duration }{
		{10 * ms, 1 * ms}, {15 * ms, 10 * ms}, {35 * ms, 20 * ms}, {75 * ms, 50 * ms},
		{150 * ms, 100 * ms}, {350 * ms, 200 * ms}, {750 * ms, 500 * ms}, {1500 * ms, time.Second},
		{3500 * ms, 2 * time.Second}, {7500 * ms, 5 * time.Second}, {12500 * ms, 10 * time.Second},
		{17500 * ms, 15 * time.Second}, {25 * time.Second, 20 * time.Second}, {45 * time.Second, 30 * time.Second},
		{90 * time.Second, time.Minute}, {210 * time.Second, 2 * time.Minute}, {450 * time.Second, 5 * time.Minute},
		{750 * time.Second, 10 * time.Minute}, {1050 * time.Second, 15 * time.Minute}, {1500 * time.Second, 20 * time.Minute},
		{2700 * time.Second, 30 * time.Minute}, {5400 * time.Second, time.Hour}, {9000 * time.Second, 2 * time.Hour},
		{16200 * time.Second, 3 * time.Hour}, {32400 * time.Second, 6 * time.Hour}, {24 * time.Hour, 12 * time.Hour},
		{48 * time.Hour, 24 * time.Hour}, {7 * 24 * time.Hour, 24 * time.Hour}, {21 * 24 * time.Hour, 7 * 24 * time.Hour},
	}
	for _, e := range table {
		if d <= e.upTo {
			return e.to
		}
	}
	if d < 42*24*time.Hour {
		return 30 * 24 * time.Hour
	}
	return 365 * 24 * time.Hour
}

// promDuration formats d as a PromQL duration: whole seconds as "15s",
// otherwise milliseconds ("1500ms").
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// stepParam formats a step for the API: seconds, with a fraction if needed.
func stepParam(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// timeParam formats a time for the API: Unix seconds with milliseconds.
func timeParam(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// interpolate replaces Grafana's interval variables in a raw PromQL
// expression, so that a promql query works the same in panels and in alert
// rules (where no frontend interpolates): $__rate_interval, $__interval,
// $__interval_ms, $__range, $__range_s, $__range_ms, also in ${...} form.
func interpolate(expr string, tm timing, r query.Range) string {
	span := r.To.Sub(r.From)
	vals := map[string]string{
		"__rate_interval": promDuration(tm.Window),
		"__interval_ms":   strconv.FormatInt(tm.Step.Milliseconds(), 10),
		"__interval":      promDuration(tm.Step),
		"__range_ms":      strconv.FormatInt(span.Milliseconds(), 10),
		"__range_s":       strconv.FormatInt(int64(span.Seconds()), 10),
		"__range":         strconv.FormatInt(int64(span.Seconds()), 10) + "s",
	}
	// Longest names first, so that $__interval does not eat $__interval_ms.
	order := []string{"__rate_interval", "__interval_ms", "__interval", "__range_ms", "__range_s", "__range"}
	pairs := make([]string, 0, 4*len(order))
	for _, k := range order {
		pairs = append(pairs, "${"+k+"}", vals[k], "$"+k, vals[k])
	}
	return strings.NewReplacer(pairs...).Replace(expr)
}
