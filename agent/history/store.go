// Package history keeps every series the agent exports for a while (15
// minutes by default), sampled at an interval, so that the data source's
// direct mode can draw graphs and compute rates without a Prometheus.
package history

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/netlens/netlens/agent/api"
)

// Sample is one series' value at one gathering.
type Sample struct {
	// Labels are name/value pairs, the metric name under "__name__".
	Labels []Label
	Value  float64
}

// Label is one label pair.
type Label struct{ Name, Value string }

// Store is a fixed window of samples per series: one ring of timestamps
// shared by all series, one ring of values per series (NaN where the series
// was absent). Memory is bounded by MaxSeries x window/interval values.
type Store struct {
	interval  time.Duration
	slots     int
	maxSeries int

	mu      sync.RWMutex
	times   []int64 // ms since the epoch, per slot
	head    int     // the slot the next round writes
	filled  int     // slots holding a round, at most slots
	round   uint64  // rounds taken
	series  map[string]*entry
	dropped uint64
}

type entry struct {
	labels []Label
	values []float64
	// seen is the last round the series was present in.
	seen uint64
}

// New keeps window of samples taken every interval, for at most maxSeries series.
func New(window, interval time.Duration, maxSeries int) *Store {
	slots := max(int(window/interval), 1)
	return &Store{interval: interval, slots: slots, maxSeries: maxSeries,
		times: make([]int64, slots), series: map[string]*entry{}}
}

// Add records one round of samples taken at t. A series absent from a
// round gets no sample there; a series absent for the whole window is
// forgotten.
func (s *Store) Add(t time.Time, samples []Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.round++
	slot := s.head
	s.times[slot] = t.UnixMilli()
	var key strings.Builder
	for _, smp := range samples {
		key.Reset()
		for _, l := range smp.Labels {
			key.WriteString(l.Name)
			key.WriteByte(0)
			key.WriteString(l.Value)
			key.WriteByte(0)
		}
		e := s.series[key.String()]
		if e == nil {
			if len(s.series) >= s.maxSeries {
				s.dropped++
				continue
			}
			e = &entry{labels: smp.Labels, values: make([]float64, s.slots)}
			for i := range e.values {
				e.values[i] = math.NaN()
			}
			s.series[key.String()] = e
		}
		e.values[slot] = smp.Value
		e.seen = s.round
	}
	for k, e := range s.series {
		if e.seen == s.round {
			continue
		}
		e.values[slot] = math.NaN()
		if s.round-e.seen >= uint64(s.slots) {
			delete(s.series, k)
		}
	}
	s.head = (slot + 1) % s.slots
	s.filled = min(s.filled+1, s.slots)
}

// ErrTooManySeries is returned by Select when more series match than allowed.
type ErrTooManySeries struct{ Matched, Limit int }

func (e ErrTooManySeries) Error() string {
	return "selector matches " + strconv.Itoa(e.Matched) + " series, more than the limit of " + strconv.Itoa(e.Limit) + ": narrow it"
}

// Select returns the series matching every matcher with their samples from
// start to end (inclusive), oldest first; series without a sample there are
// left out. More than limit matching series is an error.
func (s *Store) Select(ms []Matcher, start, end time.Time, limit int) ([]api.Series, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	from, to := start.UnixMilli(), end.UnixMilli()
	var out []api.Series
	matched := 0
	for _, e := range s.series {
		if !matchesAll(ms, e.labels) {
			continue
		}
		var samples []api.Sample
		for i := range s.filled {
			slot := (s.head - s.filled + i + s.slots) % s.slots
			if t := s.times[slot]; t >= from && t <= to && !math.IsNaN(e.values[slot]) {
				samples = append(samples, api.Sample{T: t, V: e.values[slot]})
			}
		}
		if len(samples) == 0 {
			continue
		}
		if matched++; matched > limit {
			continue // keep counting for the error
		}
		labels := make(map[string]string, len(e.labels))
		for _, l := range e.labels {
			labels[l.Name] = l.Value
		}
		out = append(out, api.Series{Labels: labels, Samples: samples})
	}
	if matched > limit {
		return nil, ErrTooManySeries{Matched: matched, Limit: limit}
	}
	sort.Slice(out, func(i, j int) bool { return seriesKey(out[i].Labels) < seriesKey(out[j].Labels) })
	return out, nil
}

func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(labels["__name__"])
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + labels[k])
	}
	return b.String()
}

func matchesAll(ms []Matcher, labels []Label) bool {
	for _, m := range ms {
		v := ""
		for _, l := range labels {
			if l.Name == m.Name {
				v = l.Value
				break
			}
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

// Interval is how often the store takes a sample.
func (s *Store) Interval() time.Duration { return s.interval }

// Status describes the store: size, limits, the memory it holds.
func (s *Store) Status() api.HistoryStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := api.HistoryStatus{
		IntervalSeconds: s.interval.Seconds(),
		DurationSeconds: (time.Duration(s.slots) * s.interval).Seconds(),
		Series:          len(s.series),
		MaxSeries:       s.maxSeries,
		DroppedSeries:   s.dropped,
		Bytes:           int64(8 * s.slots),
	}
	for k, e := range s.series {
		// The map key, the labels (sharing no storage with the key), the
		// values, and the map and slice headers.
		st.Bytes += int64(2*len(k) + 8*len(e.values) + 32*len(e.labels) + 96)
	}
	if s.filled > 0 {
		st.Oldest = time.UnixMilli(s.times[(s.head-s.filled+s.slots)%s.slots])
	}
	return st
}

// Run gathers g every interval until ctx ends.
func (s *Store) Run(ctx context.Context, g prometheus.Gatherer, logger *slog.Logger) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		mfs, err := g.Gather()
		if err != nil {
			logger.Warn("gathering metrics for the history", "err", err)
		}
		s.Add(time.Now(), Flatten(mfs))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Flatten turns metric families into samples the way Prometheus stores them:
// summaries and histograms become their _sum, _count, quantile and _bucket
// series.
func Flatten(mfs []*dto.MetricFamily) []Sample {
	var out []Sample
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			base := make([]Label, 0, len(m.GetLabel())+2)
			for _, lp := range m.GetLabel() {
				base = append(base, Label{lp.GetName(), lp.GetValue()})
			}
			add := func(suffix string, v float64, extra ...Label) {
				ls := make([]Label, 0, len(base)+1+len(extra))
				ls = append(ls, Label{"__name__", name + suffix})
				ls = append(ls, base...)
				ls = append(ls, extra...)
				sort.Slice(ls[1:], func(i, j int) bool { return ls[1+i].Name < ls[1+j].Name })
				out = append(out, Sample{Labels: ls, Value: v})
			}
			switch {
			case m.Counter != nil:
				add("", m.GetCounter().GetValue())
			case m.Gauge != nil:
				add("", m.GetGauge().GetValue())
			case m.Untyped != nil:
				add("", m.GetUntyped().GetValue())
			case m.Summary != nil:
				sm := m.GetSummary()
				add("_sum", sm.GetSampleSum())
				add("_count", float64(sm.GetSampleCount()))
				for _, q := range sm.GetQuantile() {
					add("", q.GetValue(), Label{"quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)})
				}
			case m.Histogram != nil:
				h := m.GetHistogram()
				add("_sum", h.GetSampleSum())
				add("_count", float64(h.GetSampleCount()))
				for _, b := range h.GetBucket() {
					add("_bucket", float64(b.GetCumulativeCount()), Label{"le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)})
				}
				add("_bucket", float64(h.GetSampleCount()), Label{"le", "+Inf"})
			}
		}
	}
	return out
}
