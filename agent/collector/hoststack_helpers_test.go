package collector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// collectSeries runs c once and returns its series as `name{k="v",...}` ->
// value, the metric type of every name, and Update's error. It fails the test
// on a duplicate series (which would break a scrape) or an invalid metric.
func collectSeries(t *testing.T, c Collector) (map[string]float64, map[string]dto.MetricType, error) {
	t.Helper()
	ch := make(chan prometheus.Metric)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Update(context.Background(), ch)
		close(ch)
	}()
	series := map[string]float64{}
	types := map[string]dto.MetricType{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatalf("invalid metric %s: %v", m.Desc(), err)
		}
		name := descName(m.Desc())
		var labels []string
		for _, l := range pb.GetLabel() {
			labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		sort.Strings(labels)
		key := name + "{" + strings.Join(labels, ",") + "}"
		if _, dup := series[key]; dup {
			t.Fatalf("duplicate series %s", key)
		}
		switch {
		case pb.Counter != nil:
			series[key] = pb.GetCounter().GetValue()
			types[name] = dto.MetricType_COUNTER
		case pb.Gauge != nil:
			series[key] = pb.GetGauge().GetValue()
			types[name] = dto.MetricType_GAUGE
		default:
			t.Fatalf("series %s is neither counter nor gauge", key)
		}
	}
	return series, types, <-errc
}

// descName digs the fully-qualified name out of a Desc's String form.
func descName(d *prometheus.Desc) string {
	s := d.String()
	_, rest, _ := strings.Cut(s, `fqName: "`)
	name, _, _ := strings.Cut(rest, `"`)
	return name
}

// countPrefix counts the series of one metric name.
func countPrefix(series map[string]float64, name string) int {
	n := 0
	for k := range series {
		if strings.HasPrefix(k, name+"{") {
			n++
		}
	}
	return n
}
