// Package collector runs the agent's collectors at scrape time, each on its
// own: one collector's failure is reported in its up metric and its status and
// never hides the others' metrics.
package collector

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector produces one concern's metrics (drops, NIC stats, netstat, ...).
type Collector interface {
	// Name is the collector's stable name, the value of the `collector` label.
	Name() string
	// Update sends the collector's current metrics to ch. An error marks the
	// collector down for this scrape; metrics sent before the error are kept.
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Status is a collector's state after its latest run.
type Status struct {
	Name string `json:"name"`
	Up   bool   `json:"up"`
	// Error is the latest run's error, empty when up.
	Error string `json:"error,omitempty"`
	// LastRun is when the latest run ended; zero before the first scrape.
	LastRun  time.Time     `json:"lastRun"`
	Duration time.Duration `json:"duration"`
}

var (
	upDesc = prometheus.NewDesc("netlens_agent_collector_up",
		"Whether the collector's latest run succeeded (1) or failed (0).", []string{"collector"}, nil)
	durationDesc = prometheus.NewDesc("netlens_agent_collector_duration_seconds",
		"How long the collector's latest run took.", []string{"collector"}, nil)
)

// Registry is a prometheus.Collector that runs every registered collector
// concurrently on each scrape.
type Registry struct {
	collectors []Collector
	logger     *slog.Logger
	// timeout is the deadline of the context each run gets; collectors must honour it.
	timeout time.Duration

	mu     sync.Mutex
	status map[string]Status
}

// NewRegistry returns a registry of collectors; names must be unique.
func NewRegistry(logger *slog.Logger, timeout time.Duration, collectors ...Collector) *Registry {
	r := &Registry{collectors: collectors, logger: logger, timeout: timeout, status: map[string]Status{}}
	for _, c := range collectors {
		if _, dup := r.status[c.Name()]; dup {
			panic("collector: duplicate collector name " + c.Name())
		}
		r.status[c.Name()] = Status{Name: c.Name()}
	}
	return r
}

// Describe sends nothing: the collectors' series are only known at scrape
// time, which makes this an unchecked collector.
func (r *Registry) Describe(chan<- *prometheus.Desc) {}

// Collect runs every collector and sends their metrics plus up and duration per collector.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, c := range r.collectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(c, ch)
		}()
	}
	wg.Wait()
}

func (r *Registry) run(c Collector, ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	start := time.Now()
	err := c.Update(ctx, ch)
	took := time.Since(start)

	st := Status{Name: c.Name(), Up: err == nil, LastRun: time.Now(), Duration: took}
	up := 1.0
	if err != nil {
		up = 0
		st.Error = err.Error()
		r.logger.Warn("collector failed", "collector", c.Name(), "err", err, "duration", took)
	}
	r.mu.Lock()
	r.status[c.Name()] = st
	r.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, c.Name())
	ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, took.Seconds(), c.Name())
}

// Status returns every collector's latest state, sorted by name.
func (r *Registry) Status() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.status))
	for _, s := range r.status {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
