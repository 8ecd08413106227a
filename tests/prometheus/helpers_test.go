// Package prometheus_test checks prometheus mode end to end: Debian's
// Prometheus scrapes a real agent while an iptables DROP rule between two lab
// pods drops traffic, and the data source's answers (pkg/prometheus's Reader
// directly, and the built plugin binary through the Grafana test host) must
// equal the kernel's rule counters. Retina-schema answers are checked against
// networkobservability_* series backfilled with promtool.
package prometheus_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/prometheus"
	"github.com/netlens/netlens/pkg/query"
)

func reader(t *testing.T, url, jsonData string) *prometheus.Reader {
	t.Helper()
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: url, JSONData: []byte(jsonData)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := prometheus.New(s, prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func parse(t *testing.T, js string) models.Query {
	t.Helper()
	q, err := models.ParseQuery([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// lastRange is the last d up to now, as a panel with 1000 points asks for it.
func lastRange(d time.Duration, interval time.Duration) query.Range {
	now := time.Now()
	return query.Range{From: now.Add(-d), To: now, Interval: interval, MaxDataPoints: 1000}
}

// find returns the value field of the frame whose labels include want.
func find(frames data.Frames, want map[string]string) *data.Field {
outer:
	for _, f := range frames {
		if len(f.Fields) < 2 {
			continue
		}
		vf := f.Fields[1]
		for k, v := range want {
			if vf.Labels[k] != v {
				continue outer
			}
		}
		return vf
	}
	return nil
}

func last(f *data.Field) float64 {
	if f == nil || f.Len() == 0 {
		return -1
	}
	return f.At(f.Len() - 1).(float64)
}

// lastOrZero is last, where no series (nothing dropped yet) is 0.
func lastOrZero(f *data.Field) float64 {
	if f == nil {
		return 0
	}
	return last(f)
}

func describe(frames data.Frames) string {
	var b strings.Builder
	for _, f := range frames {
		if len(f.Fields) < 2 {
			fmt.Fprintf(&b, "(empty frame %q)\n", f.Meta.ExecutedQueryString)
			continue
		}
		fmt.Fprintf(&b, "%v: last %v (%d points)\n", f.Fields[1].Labels, last(f.Fields[1]), f.Fields[1].Len())
	}
	return b.String()
}

// eventually runs q until check accepts its frames or timeout passes, and
// returns the last answer and how long it took.
func eventually(t *testing.T, timeout time.Duration, run func() backend.DataResponse, check func(data.Frames) bool) (backend.DataResponse, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp := run()
		if resp.Error != nil {
			t.Fatalf("query failed: %v", resp.Error)
		}
		if check(resp.Frames) || time.Since(start) > timeout {
			return resp, time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var ctx = context.Background()
